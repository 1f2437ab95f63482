import { describe, expect, it } from 'vitest';
import { PatchError, applyJsonPatch, parseJsonPatch } from '../../src/patch/index';

const cm = () => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { app: 'web' } }, data: { a: '1' }, list: [1, 2, 3] });

function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchError) return err;
    throw err;
  }
  throw new Error('expected a PatchError');
}

describe('patch - JSON patch (RFC 6902)', () => {
  it('json patch - add, replace, remove, move, copy, test', () => {
    const input = cm();
    const out = applyJsonPatch(input, [
      { op: 'test', path: '/metadata/labels/app', value: 'web' },
      { op: 'add', path: '/data/b', value: '2' },
      { op: 'replace', path: '/data/a', value: 'one' },
      { op: 'remove', path: '/list/0' },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'copy', from: '/data/a', path: '/data/c' },
      { op: 'move', from: '/data/b', path: '/data/d' },
      { op: 'add', path: '/metadata/annotations', value: { 'a/b': 'x' } },
    ]);
    expect(out['data']).toEqual({ a: 'one', c: 'one', d: '2' });
    expect(out['list']).toEqual([2, 3, 4]);
    expect(out['metadata']).toEqual({ name: 'c', labels: { app: 'web' }, annotations: { 'a/b': 'x' } });
    expect(input).toEqual(cm()); // input untouched
  });

  it('json patch - escaped pointers', () => {
    const out = applyJsonPatch({ metadata: { annotations: { 'example.com/x': '1', 'a~b': '2' } } }, [
      { op: 'replace', path: '/metadata/annotations/example.com~1x', value: 'one' },
      { op: 'remove', path: '/metadata/annotations/a~0b' },
    ]);
    expect(out).toEqual({ metadata: { annotations: { 'example.com/x': 'one' } } });
  });

  it('json patch - a failing test op is a 422 PatchError naming the path', () => {
    const err = patchError(() => applyJsonPatch(cm(), [{ op: 'test', path: '/metadata/labels/app', value: 'db' }, { op: 'remove', path: '/data' }]));
    expect(err.code).toBe('TEST_FAILED');
    expect(err.status).toBe(422);
    expect(err.path).toBe('/metadata/labels/app');
    expect(err.message).toContain('/metadata/labels/app');
  });

  it('json patch - missing paths are 422 PATH_NOT_FOUND', () => {
    for (const op of [
      { op: 'remove', path: '/data/zzz' },
      { op: 'replace', path: '/spec/replicas', value: 1 },
      { op: 'add', path: '/spec/replicas', value: 1 },
      { op: 'remove', path: '/list/3' },
      { op: 'move', from: '/nope', path: '/x' },
      { op: 'remove', path: '/toString' },
      { op: 'test', path: '/constructor', value: {} },
    ]) {
      const err = patchError(() => applyJsonPatch(cm(), [op]));
      expect(err.status, JSON.stringify(op)).toBe(422);
      expect(err.code, JSON.stringify(op)).toBe('PATH_NOT_FOUND');
    }
    expect(patchError(() => applyJsonPatch(cm(), [{ op: 'add', path: '/list/9', value: 0 }])).code).toBe('CANNOT_APPLY');
    expect(patchError(() => applyJsonPatch(cm(), [{ op: 'add', path: '/list/x', value: 0 }])).code).toBe('CANNOT_APPLY');
  });

  it('json patch - malformed documents are 400 INVALID_PATCH', () => {
    for (const ops of [
      {},
      'x',
      [1],
      [{ op: 'frobnicate', path: '/a' }],
      [{ op: 'add', path: 'a', value: 1 }],
      [{ op: 'add', path: '/a' }],
      [{ op: 'move', path: '/a' }],
      [{ op: 'remove', path: '/a~2' }],
      [{ path: '/a' }],
    ]) {
      const err = patchError(() => applyJsonPatch(cm(), ops));
      expect(err.status, JSON.stringify(ops)).toBe(400);
      expect(err.reason).toBe('BadRequest');
    }
    expect(parseJsonPatch([{ op: 'remove', path: '/a', extra: 1 }])).toEqual([{ op: 'remove', path: '/a' }]);
  });

  it('json patch - the result must stay an object; __proto__ is refused', () => {
    expect(patchError(() => applyJsonPatch(cm(), [{ op: 'replace', path: '', value: [1] }])).status).toBe(422);
    expect(applyJsonPatch(cm(), [{ op: 'replace', path: '', value: { a: 1 } }])).toEqual({ a: 1 });
    expect(patchError(() => applyJsonPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }])).status).toBe(422);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('json patch - values are copied, not shared with the patch', () => {
    const value = { nested: { n: 1 } };
    const out = applyJsonPatch({}, [{ op: 'add', path: '/a', value }]);
    value.nested.n = 2;
    expect(out).toEqual({ a: { nested: { n: 1 } } });
  });
});
