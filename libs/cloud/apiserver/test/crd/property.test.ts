// Random CRD-shaped objects and random JSONPaths: only FieldErrors or values, never exceptions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crdStatusConditions, crdToDefinition, evaluatePrinterColumn, validateCustomResourceDefinition } from '../../src/crd/index';
import { crontabCrd } from './fixtures';

const value = fc.jsonValue({ maxDepth: 4 });
const version = fc.record(
  { name: value, served: value, storage: value, schema: fc.oneof(value, fc.record({ openAPIV3Schema: value })), subresources: value, additionalPrinterColumns: value },
  { requiredKeys: [] },
);
const crdLike = fc.record(
  {
    metadata: fc.oneof(value, fc.record({ name: value, annotations: value })),
    spec: fc.oneof(
      value,
      fc.record({ group: value, scope: value, names: fc.oneof(value, fc.record({ plural: value, kind: value, shortNames: value })), versions: fc.oneof(value, fc.array(version, { maxLength: 3 })), conversion: value }, { requiredKeys: [] }),
    ),
    status: value,
  },
  { requiredKeys: [] },
);

describe('crd - properties', () => {
  it('random CRDs: validation, descriptor and status never throw', () => {
    fc.assert(
      fc.property(fc.oneof(value, crdLike), (crd) => {
        const errs = validateCustomResourceDefinition(crd);
        expect(errs.every((e) => typeof e.field === 'string' && typeof e.message === 'string')).toBe(true);
        const d = crdToDefinition(crd);
        for (const v of d.versions) v.validator?.validate(crd);
        crdStatusConditions(crd, { now: 'T' });
      }),
      { numRuns: 500 },
    );
  });

  it('random JSONPaths never throw', () => {
    const chars = fc.constantFrom('.', 'spec', 'status', '[', ']', '?', '(', ')', '@', '=', '"', "'", '*', '0', '-1', '\\', '{', '}', 'type', '!', '<');
    fc.assert(
      fc.property(fc.string({ unit: chars, maxLength: 20 }), value, (path, obj) => {
        evaluatePrinterColumn(obj, path);
        evaluatePrinterColumn(crontabCrd(), path);
      }),
      { numRuns: 800 },
    );
  });
});
