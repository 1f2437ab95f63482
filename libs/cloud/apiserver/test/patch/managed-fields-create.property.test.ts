// A create's managedFields entry is built straight from the object's leaves (leafFieldsV1), skipping the
// general tracker's field sets; for any object it must be exactly (key order included) what the general
// path, toFieldsV1 of leafValues, gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kedge/kube-core';
import { trackManagedFields } from '../../src/managed-fields/index';
import { leafFieldsV1, leafValues, toFieldsV1, type FieldPath } from '../../src/patch/index';

const KEYS = ['spec', 'containers', 'name', 'image', 'env', 'value', 'ports', 'containerPort', 'port', 'type', 'uid', 'mountPath', 'data', 'status', '__proto__', 'a.b', ''];
const scalar = fc.oneof(fc.constantFrom('a', 'b', 'web', ''), fc.integer({ min: -2, max: 3 }), fc.boolean(), fc.constant(null));
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('arr'), tie('obj'), tie('keyed')),
  arr: fc.array(tie('tree'), { maxLength: 4 }),
  obj: fc.dictionary(fc.constantFrom(...KEYS), tie('tree'), { maxKeys: 4 }),
  // lists whose items carry a name: keyed by it when the names are distinct
  keyed: fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c'), value: tie('tree') }), { maxLength: 3 }),
}));
const metadata = fc.record(
  {
    name: fc.constant('x'),
    labels: fc.dictionary(fc.constantFrom('app', 'tier', 'a.b/c'), fc.constantFrom('1', '2', '')),
    annotations: fc.dictionary(fc.constantFrom('note', 'x'), fc.string({ maxLength: 3 })),
    finalizers: fc.array(fc.constantFrom('f1', 'f2', 'f1'), { maxLength: 3 }),
    ownerReferences: fc.array(fc.record({ uid: fc.constantFrom('u1', 'u2'), kind: fc.constant('Thing'), name: fc.constant('o') }), { maxLength: 2 }),
  },
  { requiredKeys: ['name'] },
);
const object = fc.record({ metadata, spec: tree, data: fc.dictionary(fc.constantFrom('k1', 'k2'), fc.string({ maxLength: 3 })), status: tree }, { requiredKeys: ['metadata'] });

function generalFieldsV1(value: KubeObject, only?: 'status'): unknown {
  return toFieldsV1(new Map([...leafValues(value, only)].map(([key, leaf]): [string, FieldPath] => [key, leaf.path])));
}

describe('managedFields of a create', () => {
  it('leafFieldsV1 equals toFieldsV1 of leafValues for any object, key order included', () => {
    fc.assert(
      fc.property(object, fc.boolean(), (value, statusOnly) => {
        const only = statusOnly ? 'status' : undefined;
        const fast = leafFieldsV1(value as KubeObject, only);
        expect(JSON.stringify(fast.fieldsV1)).toBe(JSON.stringify(generalFieldsV1(value as KubeObject, only)));
        expect(fast.leaves > 0).toBe(leafValues(value as KubeObject, only).size > 0);
      }),
      { numRuns: 500 },
    );
  });

  it('a create gets one Update entry of the writer owning every leaf, and none for an object without leaves', () => {
    const write = { manager: 'kubectl', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', subresource: '' };
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { app: 'x' }, managedFields: [] }, data: { a: '1' } } as KubeObject;
    expect(trackManagedFields(undefined, configMap, write)).toEqual([
      { manager: 'kubectl', operation: 'Update', apiVersion: 'v1', time: write.time, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } } },
    ]);
    expect(trackManagedFields(undefined, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } as KubeObject, write)).toEqual([]);
  });
});
