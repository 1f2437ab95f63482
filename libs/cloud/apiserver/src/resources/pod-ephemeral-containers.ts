// How pod writes treat spec.ephemeralContainers: the pods/ephemeralcontainers subresource changes that
// list and nothing else (additions only); every other write keeps it as stored, as upstream's pod strategy.
import { badRequest, cloneJson, invalid, isRecord, recordAt, type KubeObject } from '@kedge/kube-core';
import { isDeepStrictEqual } from 'node:util';
import { fieldForbidden, toStatusCauses, validateEphemeralContainersUpdate } from '../validation';
import type { UpdateContext } from './resource-type';

export function keepEphemeralContainersApart(
  next: KubeObject,
  previous: KubeObject,
  context: UpdateContext,
  defaultContainers: (spec: Record<string, unknown>) => void,
): void {
  const name = previous.metadata.name ?? '';
  const before = recordAt(previous, ['spec'])?.['ephemeralContainers'];
  if (context.subresource === 'ephemeralcontainers') {
    const wanted = recordAt(next, ['spec'])?.['ephemeralContainers'];
    const metadata = next.metadata;
    for (const key of Object.keys(next)) delete next[key];
    Object.assign(next, cloneJson(previous));
    next.metadata = { ...next.metadata, resourceVersion: metadata.resourceVersion, managedFields: metadata.managedFields };
    const spec = recordAt(next, ['spec']);
    if (spec === undefined) throw badRequest(`pod "${name}" has no spec to add ephemeral containers to`);
    if (wanted === undefined || wanted === null) delete spec['ephemeralContainers'];
    else spec['ephemeralContainers'] = cloneJson(wanted);
    // defaults (imagePullPolicy, terminationMessage*) for the new entries, so that the old ones compare equal
    defaultContainers({ ephemeralContainers: spec['ephemeralContainers'] });
    const errors = validateEphemeralContainersUpdate(spec['ephemeralContainers'], before);
    if (errors.length > 0) throw invalid('', 'Pod', name, toStatusCauses(errors));
    return;
  }
  if (context.subresource !== '') return;
  const spec = recordAt(next, ['spec']);
  if (!isRecord(spec)) return;
  // a replace that leaves the list out keeps it; one that changes it is refused
  if (spec['ephemeralContainers'] === undefined) {
    if (before !== undefined) spec['ephemeralContainers'] = cloneJson(before);
    return;
  }
  if (!isDeepStrictEqual(spec['ephemeralContainers'], before ?? [])) {
    if (before === undefined && Array.isArray(spec['ephemeralContainers']) && spec['ephemeralContainers'].length === 0) {
      delete spec['ephemeralContainers'];
      return;
    }
    const error = fieldForbidden('spec.ephemeralContainers', 'ephemeral containers may only be added through the pods/ephemeralcontainers subresource');
    throw invalid('', 'Pod', name, toStatusCauses([error]));
  }
}
