// Random schemas and random objects: compiling never throws and every operation returns
// FieldError[] or a value, never an exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileStructuralSchema, isStructuralSchema } from '../../src/schema/index';
import type { FieldError } from '../../src/validation/index';

const KEYWORDS = [
  'type', 'properties', 'items', 'additionalProperties', 'required', 'enum', 'minimum', 'maximum', 'exclusiveMinimum',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'format', 'nullable', 'default', 'allOf', 'anyOf', 'oneOf', 'not',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'multipleOf', '$ref', 'constructor', '__proto__',
];
const leaf = fc.oneof(
  fc.constantFrom('object', 'array', 'string', 'integer', 'number', 'boolean', 'int32', 'date-time', 'set', 'map', '(', '^a+$', 'name', ''),
  fc.integer({ min: -3, max: 5 }),
  fc.double({ noNaN: true, min: -10, max: 10 }),
  fc.boolean(),
  fc.constant(null),
);
const { schema } = fc.letrec((tie) => ({
  schema: fc.oneof({ depthSize: 'small' }, leaf, tie('node'), fc.array(tie('schema'), { maxLength: 3 })),
  node: fc.dictionary(fc.constantFrom(...KEYWORDS), tie('schema'), { maxKeys: 6 }),
  props: fc.dictionary(fc.constantFrom('spec', 'a', 'b', 'name'), tie('node'), { maxKeys: 3 }),
}));
const value = fc.jsonValue({ maxDepth: 4 });
const shaped = fc.record({ apiVersion: value, kind: value, metadata: value, spec: value, a: value }, { requiredKeys: [] });

const TYPES = new Set(['FieldValueRequired', 'FieldValueInvalid', 'FieldValueNotSupported', 'FieldValueTypeInvalid', 'FieldValueDuplicate', 'FieldValueTooLong', 'FieldValueForbidden']);
const wellFormed = (errs: FieldError[]) => errs.every((e) => typeof e.field === 'string' && TYPES.has(e.type) && e.message.length > 0);

describe('schema - properties', () => {
  it('random schemas: isStructuralSchema and the validator never throw', () => {
    fc.assert(
      fc.property(schema, fc.oneof(value, shaped), (s, obj) => {
        expect(wellFormed(isStructuralSchema(s))).toBe(true);
        const v = compileStructuralSchema(s);
        expect(wellFormed(v.validate(obj))).toBe(true);
        v.prune(obj);
        v.applyDefaults(obj);
      }),
      { numRuns: 600 },
    );
  });

  it('structural schemas: pruning is idempotent and keeps valid objects valid', () => {
    const s = {
      type: 'object',
      properties: { spec: { type: 'object', properties: { a: { type: 'string' }, n: { type: 'integer', default: 1 }, l: { type: 'array', items: { type: 'object', properties: { k: { type: 'boolean' } } } } } } },
    };
    const v = compileStructuralSchema(s);
    fc.assert(
      fc.property(shaped, (obj) => {
        const pruned = v.prune(obj);
        expect(v.prune(pruned)).toEqual(pruned);
        const defaulted = v.applyDefaults(pruned);
        expect(v.applyDefaults(defaulted)).toEqual(defaulted);
      }),
      { numRuns: 300 },
    );
  });
});
