// RFC 7386 JSON merge patch (`application/merge-patch+json`): null deletes, objects merge
// recursively, everything else (arrays included) replaces. Kubernetes requires the patch to be an
// object, so other documents are refused rather than replacing the whole resource.
import { cloneJson, isRecord } from '@kedge/kube-core';
import { PatchError } from './errors';
import type { JsonObject } from '../json';
import { getOwn, setOwn } from '../json';
import { checkDepth, childPointer } from './json';

/** Merges `patch` into `target` in place (target is already a private copy). */
function mergeInto(target: JsonObject, patch: JsonObject, path: string, depth: number): void {
  checkDepth(depth, path);
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) {
      delete target[key];
    } else if (isRecord(value)) {
      const current = getOwn(target, key);
      const child = isRecord(current) ? current : {};
      mergeInto(child, value, childPointer(path, key), depth + 1);
      setOwn(target, key, child);
    } else {
      setOwn(target, key, cloneJson(value));
    }
  }
}

/** Applies a JSON merge patch to a copy of `obj` (a non-object `obj` counts as `{}`). */
export function applyMergePatch(obj: unknown, patch: unknown): JsonObject {
  if (!isRecord(patch)) throw new PatchError('INVALID_PATCH', '', 'a merge patch must be a JSON object');
  const target: JsonObject = isRecord(obj) ? cloneJson(obj) : {};
  mergeInto(target, patch, '', 0);
  return target;
}
