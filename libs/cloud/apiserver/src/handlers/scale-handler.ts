// The scale subresource of Deployments, ReplicaSets and StatefulSets: an autoscaling/v1 Scale view
// of `spec.replicas` (what `kubectl scale` and autoscalers read and write). GET returns the Scale;
// PUT and PATCH (JSON, merge or strategic merge) change only spec.replicas of the object.
import { badRequest, invalid, isRecord, recordAt, StatusError, unsupportedMediaType, type KubeObject } from '@kedge/kube-core';
import { mediaTypeOf, parseJsonBody, readBody, sendJson } from '../http';
import { PatchError, applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../patch';
import { formatLabelSelector } from '../tables';
import { patchOptionsOf, writeOptionsOf } from './query-options';
import { namespaceOf, type ResourceRequest } from './request-context';
import { checkObjectShape, readObjectBody } from './request-objects';

const SCALE_API_VERSION = 'autoscaling/v1';
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

function toScale(object: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, creationTimestamp } = object.metadata;
  const replicas = recordAt(object, ['spec'])?.['replicas'];
  const observed = recordAt(object, ['status'])?.['replicas'];
  const selector = formatLabelSelector(recordAt(object, ['spec', 'selector']));
  return {
    kind: 'Scale',
    apiVersion: SCALE_API_VERSION,
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: typeof replicas === 'number' ? replicas : 0 },
    status: { replicas: typeof observed === 'number' ? observed : 0, ...(selector === '<none>' ? {} : { selector }) },
  };
}

/** spec.replicas of a Scale body, refused as upstream's ValidateScale does. */
function wantedReplicas(scale: KubeObject, name: string): number {
  if (scale.kind !== undefined && scale.kind !== 'Scale') throw badRequest(`the body must be a Scale of apiVersion ${SCALE_API_VERSION}, not ${String(scale.kind)}`);
  const replicas = recordAt(scale, ['spec'])?.['replicas'] ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    const message = typeof replicas === 'number' ? `Invalid value: ${replicas}: must be greater than or equal to 0` : 'Invalid value: must be an integer';
    throw invalid('autoscaling', 'Scale', name, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message }]);
  }
  return replicas;
}

function patchScale(scale: KubeObject, mediaType: string, document: unknown): KubeObject {
  try {
    if (mediaType === PATCH_TYPES[0]) return checkObjectShape(applyJsonPatch(scale, document), 'the patched Scale');
    if (!isRecord(document)) throw badRequest('a merge patch must be a JSON object');
    const patched = mediaType === PATCH_TYPES[1] ? applyMergePatch(scale, document) : applyStrategicMergePatch(scale, document, { kind: 'Scale' });
    return checkObjectShape(patched, 'the patched Scale');
  } catch (error) {
    if (error instanceof PatchError) throw new StatusError(error.status, error.reason, error.message);
    throw error;
  }
}

export async function handleScale(context: ResourceRequest): Promise<void> {
  const { store } = context.services;
  const { type, verb } = context;
  const namespace = namespaceOf(context);
  const name = context.path.name ?? '';
  if (verb === 'get') {
    sendJson(context.response, 200, toScale(store.get(type, namespace, name)));
    return;
  }
  let requested: KubeObject;
  if (verb === 'update') {
    requested = await readObjectBody(context);
  } else {
    const mediaType = mediaTypeOf(context.request.headers['content-type']);
    if (!PATCH_TYPES.includes(mediaType)) throw unsupportedMediaType(mediaType, PATCH_TYPES);
    const document = parseJsonBody(await readBody(context.request, context.services.maxRequestBodyBytes));
    requested = patchScale(toScale(store.get(type, namespace, name)), mediaType, document);
  }
  const replicas = wantedReplicas(requested, name);
  const precondition = verb === 'update' ? requested.metadata.resourceVersion : undefined;
  const userAgent = context.request.headers['user-agent'];
  const { dryRun, fieldManager } = verb === 'update' ? writeOptionsOf(context.query, 'UpdateOptions', userAgent) : patchOptionsOf(context.query, false, userAgent);
  const options = { dryRun, fieldManager };
  const updated = store.modify(
    type,
    namespace,
    name,
    (current) => {
      // a resourceVersion on the Scale is a precondition on the object, as upstream
      if (precondition !== undefined && precondition !== '') current.metadata.resourceVersion = precondition;
      const spec = recordAt(current, ['spec']);
      if (spec === undefined) throw badRequest(`${type.kind} ${name} has no spec to scale`);
      spec['replicas'] = replicas;
      return current;
    },
    options,
  );
  sendJson(context.response, 200, toScale(updated));
}
