import { describe, expect, it } from 'vitest';
import { nameRuleForKind, validateObjectMeta } from '../../src/validation/index';

const fields = (errs: { field: string; type: string }[]) => errs.map((e) => `${e.field}:${e.type}`);

describe('validation - ObjectMeta', () => {
  it('object meta - name is required unless generateName is given', () => {
    expect(fields(validateObjectMeta({ namespace: 'default' }, { namespaced: true }))).toEqual(['metadata.name:FieldValueRequired']);
    expect(validateObjectMeta({ generateName: 'web-', namespace: 'default' }, { namespaced: true })).toEqual([]);
    expect(fields(validateObjectMeta(undefined, { namespaced: false }))).toEqual(['metadata.name:FieldValueRequired']);
  });

  it('object meta - names follow the name rule of the kind', () => {
    expect(nameRuleForKind('Namespace')).toBe('label');
    expect(nameRuleForKind('Service')).toBe('dns1035');
    expect(nameRuleForKind('ConfigMap')).toBe('subdomain');
    expect(validateObjectMeta({ name: 'a.b' }, { namespaced: false, kind: 'Namespace' })[0]?.message).toContain('RFC 1123 label');
    expect(validateObjectMeta({ name: 'a.b', namespace: 'x' }, { namespaced: true, kind: 'ConfigMap' })).toEqual([]);
    expect(validateObjectMeta({ name: '1svc', namespace: 'x' }, { namespaced: true, kind: 'Service' })[0]?.message).toContain('DNS-1035');
    expect(validateObjectMeta({ name: 'a/b', namespace: 'x' }, { namespaced: true, nameRule: 'path-segment' })[0]?.message).toBe(
      `Invalid value: "a/b": may not contain '/'`,
    );
    expect(validateObjectMeta({ name: 'x'.repeat(254) }, { namespaced: false }).length).toBeGreaterThan(0);
  });

  it('object meta - namespace scope and request namespace', () => {
    expect(fields(validateObjectMeta({ name: 'a' }, { namespaced: true }))).toEqual(['metadata.namespace:FieldValueRequired']);
    expect(validateObjectMeta({ name: 'a' }, { namespaced: true, namespace: 'default' })).toEqual([]);
    expect(fields(validateObjectMeta({ name: 'a', namespace: 'other' }, { namespaced: true, namespace: 'default' }))).toEqual([
      'metadata.namespace:FieldValueInvalid',
    ]);
    expect(fields(validateObjectMeta({ name: 'a', namespace: 'x' }, { namespaced: false }))).toEqual(['metadata.namespace:FieldValueForbidden']);
  });

  it('object meta - labels, annotations and finalizers', () => {
    const errs = validateObjectMeta(
      { name: 'a', labels: { 'bad key': 'v', ok: '-bad', n: 5 }, annotations: { 'x/y/z': 'v' }, finalizers: ['example.com/f', 'a/b/c'] },
      { namespaced: false },
    );
    expect(fields(errs)).toEqual([
      'metadata.labels[n]:FieldValueTypeInvalid',
      'metadata.labels:FieldValueInvalid',
      'metadata.labels:FieldValueInvalid',
      'metadata.annotations:FieldValueInvalid',
      'metadata.finalizers[1]:FieldValueInvalid',
    ]);
    const big = validateObjectMeta({ name: 'a', annotations: { a: 'x'.repeat(256 * 1024) } }, { namespaced: false });
    expect(fields(big)).toEqual(['metadata.annotations:FieldValueTooLong']);
  });

  it('object meta - wrong types are reported, not thrown', () => {
    expect(fields(validateObjectMeta('x', { namespaced: false }))).toEqual(['metadata:FieldValueTypeInvalid']);
    expect(fields(validateObjectMeta({ name: 5, labels: [] }, { namespaced: false }))).toEqual([
      'metadata.name:FieldValueTypeInvalid',
      'metadata.labels:FieldValueTypeInvalid',
    ]);
  });
});
