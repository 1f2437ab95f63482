// Random objects and random patches: the engines either return an object or throw a PatchError,
// and never modify their inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatchError, applyJsonPatch, applyMergePatch, applyStrategicMergePatch, serverSideApply } from '../../src/patch/index';

const KEYS = [
  'spec', 'metadata', 'containers', 'initContainers', 'name', 'image', 'env', 'value', 'ports', 'containerPort', 'finalizers',
  'labels', 'template', 'strategy', 'conditions', 'type', '$patch', '$retainKeys', '$setElementOrder/containers',
  '$deleteFromPrimitiveList/finalizers', '$setElementOrder/finalizers', '__proto__', 'constructor', 'toString', 'kind',
];
const scalar = fc.oneof(fc.constantFrom('delete', 'replace', 'merge', 'app', 'Pod', 'Deployment', ''), fc.integer({ min: -2, max: 3 }), fc.boolean(), fc.constant(null));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('arr'), tie('obj')),
  arr: fc.array(tie('tree'), { maxLength: 4 }),
  obj: fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { maxKeys: 5 }),
}));
const objectish = fc.oneof(fc.dictionary(fc.constantFrom(...KEYS), tree, { maxKeys: 5 }), fc.jsonValue({ maxDepth: 4 }));

const segment = fc.constantFrom('spec', 'metadata', 'containers', '0', '1', '-', 'name', '~1', '~0', 'x', '__proto__', 'constructor', 'prototype', '');
const pointer = fc.array(segment, { maxLength: 4 }).map((s) => (s.length ? `/${s.join('/')}` : ''));
const op = fc.record(
  { op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'), path: fc.oneof(pointer, fc.jsonValue()), from: pointer, value: tree },
  { requiredKeys: ['op'] },
);
const ops = fc.oneof(fc.array(op, { maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }));

function onlyPatchErrors(fn: () => unknown): void {
  try {
    const out = fn();
    expect(typeof out === 'object' && out !== null && !Array.isArray(out)).toBe(true);
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    expect([400, 409, 422]).toContain(err.status);
    expect(err.message.length).toBeGreaterThan(0);
  }
}

function unchanged<T>(value: T, fn: () => void): void {
  const before = JSON.stringify(value);
  fn();
  expect(JSON.stringify(value)).toBe(before);
}

describe('patch - properties', () => {
  it('applyJsonPatch throws only PatchError', () => {
    fc.assert(fc.property(objectish, ops, (obj, p) => unchanged(obj, () => onlyPatchErrors(() => applyJsonPatch(obj, p)))), { numRuns: 500 });
  });

  it('applyMergePatch throws only PatchError', () => {
    fc.assert(fc.property(objectish, objectish, (obj, p) => unchanged(obj, () => onlyPatchErrors(() => applyMergePatch(obj, p)))), { numRuns: 500 });
  });

  it('applyStrategicMergePatch throws only PatchError', () => {
    fc.assert(
      fc.property(objectish, objectish, fc.constantFrom('Pod', 'Deployment', 'Service', 'Node', 'Widget', undefined), (obj, p, kind) =>
        unchanged(obj, () => onlyPatchErrors(() => applyStrategicMergePatch(obj, p, kind === undefined ? {} : { kind }))),
      ),
      { numRuns: 800 },
    );
  });

  it('serverSideApply throws only PatchError', () => {
    const applied = fc.oneof(
      objectish,
      fc.record({ apiVersion: fc.constantFrom('v1', 'apps/v1'), kind: fc.constantFrom('Pod', 'Deployment', 'Widget'), metadata: tree, spec: tree }),
    );
    fc.assert(
      fc.property(fc.option(objectish, { nil: undefined }), applied, fc.constantFrom('a', 'b', ''), fc.boolean(), (existing, cfg, manager, force) => {
        let current: unknown = existing;
        onlyPatchErrors(() => (current = serverSideApply(current, cfg, { fieldManager: manager, force })));
        // a second apply by someone else exercises managedFields parsing and conflicts
        onlyPatchErrors(() => serverSideApply(current, cfg, { fieldManager: 'other', force }));
      }),
      { numRuns: 500 },
    );
  });

  it('merge patch semantics: applying a patch twice is idempotent', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), (obj, p) => {
        const once = applyMergePatch(obj, p);
        expect(applyMergePatch(once, p)).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });
});
