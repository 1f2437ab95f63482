// Random objects must only ever produce FieldError arrays: validators never throw.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_KIND_SCOPES, normalizeSecret, validateBuiltin, validateObjectMeta } from '../../src/validation/index';
import type { FieldError } from '../../src/validation/index';

const TYPES = new Set(['FieldValueRequired', 'FieldValueInvalid', 'FieldValueNotSupported', 'FieldValueTypeInvalid', 'FieldValueDuplicate', 'FieldValueTooLong', 'FieldValueForbidden']);

function wellFormed(errs: FieldError[]): boolean {
  return Array.isArray(errs) && errs.every((e) => typeof e.field === 'string' && TYPES.has(e.type) && typeof e.message === 'string' && e.message.length > 0);
}

const json = fc.jsonValue({ maxDepth: 5 });
// Objects shaped like the kinds, with random values in the interesting places.
const kindLike = fc.record(
  {
    metadata: fc.oneof(json, fc.record({ name: json, namespace: json, labels: json, annotations: json, finalizers: json }, { requiredKeys: [] })),
    spec: fc.oneof(
      json,
      fc.record({ containers: fc.oneof(json, fc.array(fc.dictionary(fc.constantFrom('name', 'image', 'ports', 'env', 'volumeMounts'), json))), ports: json, type: json, taints: json }, { requiredKeys: [] }),
    ),
    data: json,
    stringData: json,
    subsets: json,
    type: json,
  },
  { requiredKeys: [] },
);

describe('validation - properties', () => {
  it('validateBuiltin only returns FieldErrors for random input', () => {
    const kinds = Object.keys(BUILTIN_KIND_SCOPES);
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.oneof(json, kindLike), (kind, obj) => {
        expect(wellFormed(validateBuiltin(kind, normalizeSecret(obj)))).toBe(true);
        expect(wellFormed(validateBuiltin(kind, obj))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('validateObjectMeta only returns FieldErrors for random input', () => {
    fc.assert(
      fc.property(json, fc.boolean(), fc.constantFrom('subdomain', 'label', 'dns1035', 'path-segment') as fc.Arbitrary<'label'>, (meta, namespaced, nameRule) => {
        expect(wellFormed(validateObjectMeta(meta, { namespaced, nameRule }))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

});
