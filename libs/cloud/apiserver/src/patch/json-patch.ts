// RFC 6902 JSON patch (`application/json-patch+json`). fast-json-patch performs the operations;
// shape checks and own-property path resolution run first so every failure becomes a PatchError
// that names the operation and path (fast-json-patch alone would follow inherited properties such
// as `/toString` and throws TypeErrors for `__proto__`).
import jsonpatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { cloneJson, isRecord } from '@kedge/kube-core';
import { PatchError } from './errors';
import type { JsonObject } from '../json';
import { hasOwn } from '../json';

export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; path: string; from: string };

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);
const ARRAY_INDEX_RE = /^(0|[1-9][0-9]*)$/;

function invalid(path: string, message: string): PatchError {
  return new PatchError('INVALID_PATCH', path, message);
}

function parsePointer(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalid(pointer, `${where}: JSON pointer "${pointer}" must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((seg) => {
      if (/~(?![01])/.test(seg)) throw invalid(pointer, `${where}: JSON pointer "${pointer}" has an invalid "~" escape`);
      return seg.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** Validates the document shape only (no object needed): an array of well-formed operations. */
export function parseJsonPatch(ops: unknown): JsonPatchOperation[] {
  if (!Array.isArray(ops)) throw invalid('', 'a JSON patch must be a JSON array of operations');
  return ops.map((raw, i) => {
    const where = `operation ${i}`;
    if (!isRecord(raw)) throw invalid(`/${i}`, `${where} must be a JSON object`);
    const op = hasOwn(raw, 'op') ? raw['op'] : undefined;
    const path = hasOwn(raw, 'path') ? raw['path'] : undefined;
    if (typeof op !== 'string' || !OPS.has(op))
      throw invalid(`/${i}`, `${where}: "op" must be one of add, remove, replace, move, copy, test (got ${JSON.stringify(op) ?? 'nothing'})`);
    if (typeof path !== 'string') throw invalid(`/${i}`, `${where} (${op}): "path" must be a string`);
    parsePointer(path, where);
    if (op === 'move' || op === 'copy') {
      const from = hasOwn(raw, 'from') ? raw['from'] : undefined;
      if (typeof from !== 'string') throw invalid(path, `${where} (${op} ${path}): "from" must be a string`);
      parsePointer(from, where);
      return { op, path, from };
    }
    if (op === 'remove') return { op, path };
    if (!hasOwn(raw, 'value') || raw['value'] === undefined) throw invalid(path, `${where} (${op} ${path}): missing "value"`);
    return { op: op as 'add' | 'replace' | 'test', path, value: raw['value'] };
  });
}

type Lookup = { found: true; value: unknown } | { found: false };

function lookup(doc: unknown, segs: readonly string[]): Lookup {
  let cur = doc;
  for (const seg of segs) {
    if (Array.isArray(cur)) {
      if (!ARRAY_INDEX_RE.test(seg) || Number(seg) >= cur.length) return { found: false };
      cur = cur[Number(seg)];
    } else if (isRecord(cur) && hasOwn(cur, seg)) {
      cur = cur[seg];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: cur };
}

function precheck(doc: unknown, op: JsonPatchOperation, i: number): void {
  const where = `json patch operation ${i} (${op.op} ${op.path})`;
  const segs = parsePointer(op.path, where);
  if (op.op === 'move' || op.op === 'copy') {
    if (!lookup(doc, parsePointer(op.from, where)).found)
      throw new PatchError('PATH_NOT_FOUND', op.from, `${where}: "from" location ${op.from} does not exist`);
    if (op.op === 'move' && op.path.startsWith(`${op.from}/`))
      throw new PatchError('CANNOT_APPLY', op.path, `${where}: cannot move ${op.from} into its own child`);
  }
  if (segs.length === 0) return;
  const last = segs[segs.length - 1] ?? '';
  const parent = lookup(doc, segs.slice(0, -1));
  if (!parent.found || (typeof parent.value !== 'object' || parent.value === null))
    throw new PatchError('PATH_NOT_FOUND', op.path, `${where}: the parent of ${op.path} does not exist`);
  if (last === '__proto__') throw new PatchError('CANNOT_APPLY', op.path, `${where}: the key "__proto__" is not allowed`);
  const container = parent.value;
  const adds = op.op === 'add' || op.op === 'move' || op.op === 'copy';
  if (Array.isArray(container)) {
    if (adds && last === '-') return;
    if (!ARRAY_INDEX_RE.test(last)) throw new PatchError('CANNOT_APPLY', op.path, `${where}: "${last}" is not a valid array index`);
    const limit = adds ? container.length : container.length - 1;
    if (Number(last) > limit)
      throw new PatchError(adds ? 'CANNOT_APPLY' : 'PATH_NOT_FOUND', op.path, `${where}: array index ${last} is out of range (length ${container.length})`);
  } else if (!adds && !hasOwn(container as JsonObject, last)) {
    throw new PatchError('PATH_NOT_FOUND', op.path, `${where}: ${op.path} does not exist`);
  }
}

/** Applies an RFC 6902 patch to a copy of `obj`; the result must still be a JSON object. */
export function applyJsonPatch(obj: unknown, ops: unknown): JsonObject {
  const parsed = parseJsonPatch(ops);
  let doc: unknown = cloneJson(obj);
  parsed.forEach((op, i) => {
    precheck(doc, op, i);
    const operation = ('value' in op ? { ...op, value: cloneJson(op.value) } : { ...op }) as Operation;
    try {
      doc = jsonpatch.applyOperation(doc, operation, true, true, true, i).newDocument;
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name === 'TEST_OPERATION_FAILED')
        throw new PatchError('TEST_FAILED', op.path, `json patch operation ${i}: test failed: the value at ${op.path || '/'} does not match`);
      throw new PatchError('CANNOT_APPLY', op.path, `json patch operation ${i} (${op.op} ${op.path}) does not apply: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  });
  if (!isRecord(doc)) throw new PatchError('CANNOT_APPLY', '', 'the patched document must be a JSON object');
  return doc;
}
