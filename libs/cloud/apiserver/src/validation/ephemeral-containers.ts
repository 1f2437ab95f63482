// Ephemeral containers (upstream validateEphemeralContainers and ValidatePodEphemeralContainersUpdate):
// a container spec without the fields that need a restart or a port, named uniquely across the whole
// pod, optionally targeting a regular or init container; once added, never removed nor changed.
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject } from '../json';
import type { FieldError } from './field-error';
import { fieldForbidden, fieldNotFound, pathChild, pathIndex } from './field-error';
import { validateContainer } from './pod';
import { readArray, readObject, readString } from './read';

/** Fields of Container that an EphemeralContainer may not set, as upstream. */
const FORBIDDEN_FIELDS = ['ports', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle', 'resources', 'resizePolicy', 'restartPolicy'];

function containerNames(spec: JsonObject, field: string): Set<string> {
  const names = new Set<string>();
  for (const item of Array.isArray(spec[field]) ? spec[field] : []) {
    if (item !== null && typeof item === 'object' && typeof (item as JsonObject)['name'] === 'string') names.add(String((item as JsonObject)['name']));
  }
  return names;
}

/** Checks spec.ephemeralContainers; `names` holds the names of the pod's other containers and gets these added. */
export function validateEphemeralContainers(spec: JsonObject, specPath: string, names: Set<string>, errs: FieldError[]): void {
  const path = pathChild(specPath, 'ephemeralContainers');
  const list = readArray(spec['ephemeralContainers'], path, errs);
  if (list === undefined) return;
  const targets = new Set([...containerNames(spec, 'containers'), ...containerNames(spec, 'initContainers')]);
  list.forEach((item, i) => {
    const p = pathIndex(path, i);
    const container = readObject(item, p, errs);
    if (!container) return;
    validateContainer(container, p, names, errs);
    for (const field of FORBIDDEN_FIELDS) {
      const value = container[field];
      const empty = value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
      if (!empty) errs.push(fieldForbidden(pathChild(p, field), 'cannot be set for an Ephemeral Container'));
    }
    const target = readString(container['targetContainerName'], pathChild(p, 'targetContainerName'), errs);
    if (target !== undefined && target !== '' && !targets.has(target)) errs.push(fieldNotFound(pathChild(p, 'targetContainerName'), target));
  });
}

/** What the pods/ephemeralcontainers subresource may change: only additions to spec.ephemeralContainers. */
export function validateEphemeralContainersUpdate(next: unknown, previous: unknown): FieldError[] {
  const path = 'spec.ephemeralContainers';
  const errs: FieldError[] = [];
  const wanted = Array.isArray(next) ? next : [];
  const byName = new Map<string, unknown>();
  for (const item of wanted) {
    if (item !== null && typeof item === 'object' && typeof (item as JsonObject)['name'] === 'string') byName.set(String((item as JsonObject)['name']), item);
  }
  for (const old of Array.isArray(previous) ? previous : []) {
    const name = String((old as JsonObject)['name']);
    const now = byName.get(name);
    if (now === undefined) errs.push(fieldForbidden(path, `existing ephemeral containers "${name}" may not be removed`));
    else if (!isDeepStrictEqual(now, old)) errs.push(fieldForbidden(path, `existing ephemeral containers "${name}" may not be changed`));
  }
  return errs;
}
