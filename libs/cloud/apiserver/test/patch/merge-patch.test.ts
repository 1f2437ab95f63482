import { describe, expect, it } from 'vitest';
import { PatchError, applyMergePatch } from '../../src/patch/index';

describe('patch - JSON merge patch (RFC 7386)', () => {
  it('merge patch - null deletes a label, objects merge, arrays replace', () => {
    const obj = { metadata: { name: 'a', labels: { app: 'web', tier: 'fe' } }, spec: { ports: [{ port: 80 }, { port: 443 }], replicas: 1 } };
    const out = applyMergePatch(obj, { metadata: { labels: { tier: null, env: 'prod' } }, spec: { ports: [{ port: 8080 }] } });
    expect(out).toEqual({ metadata: { name: 'a', labels: { app: 'web', env: 'prod' } }, spec: { ports: [{ port: 8080 }], replicas: 1 } });
    expect(obj.metadata.labels.tier).toBe('fe');
  });

  it('merge patch - RFC 7386 appendix examples', () => {
    const cases: [unknown, Record<string, unknown>, unknown][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(applyMergePatch(target, patch)).toEqual(result);
  });

  it('merge patch - the patch must be an object (400)', () => {
    for (const patch of [[], 'x', 1, null]) {
      expect(() => applyMergePatch({}, patch)).toThrow(PatchError);
      try {
        applyMergePatch({}, patch);
      } catch (err) {
        expect((err as PatchError).status).toBe(400);
      }
    }
  });

  it('merge patch - __proto__ keys stay plain data', () => {
    const out = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
