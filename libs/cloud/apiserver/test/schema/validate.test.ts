import { describe, expect, it } from 'vitest';
import { compileStructuralSchema } from '../../src/schema/index';
import { formatFieldError } from '../../src/validation/index';

const crontab = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['cronSpec'],
      properties: {
        cronSpec: { type: 'string', pattern: '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$' },
        image: { type: 'string', minLength: 1, maxLength: 10 },
        replicas: { type: 'integer', minimum: 1, maximum: 10 },
        mode: { type: 'string', enum: ['Fast', 'Slow'] },
        ratio: { type: 'number', exclusiveMaximum: true, maximum: 1 },
        port: { 'x-kubernetes-int-or-string': true },
        tags: { type: 'array', maxItems: 2, minItems: 1, items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
        hosts: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, ip: { type: 'string', format: 'ipv4' } } },
        },
        env: { type: 'object', additionalProperties: { type: 'string' } },
        when: { type: 'string', format: 'date-time' },
        count32: { type: 'integer', format: 'int32' },
        note: { type: 'string', nullable: true },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
  },
};
const v = compileStructuralSchema(crontab);
const cr = (spec: unknown) => ({ apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name: 'c' }, spec });
const check = (spec: unknown) => v.validate(cr(spec)).map(formatFieldError);

describe('schema - validation', () => {
  it('schema - a valid object has no errors', () => {
    expect(
      check({
        cronSpec: '* * * * */5',
        image: 'img',
        replicas: 3,
        mode: 'Fast',
        ratio: 0.5,
        port: 'http',
        tags: ['a'],
        hosts: [{ name: 'a', ip: '10.0.0.1' }],
        env: { A: 'x' },
        when: '2024-01-01T00:00:00Z',
        note: null,
        template: { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: {} },
        unknown: 'pruned later, not an error',
      }),
    ).toEqual([]);
  });

  it('schema - type errors use the upstream wording and path', () => {
    expect(check({ cronSpec: '* * * * *', replicas: 'string' })).toEqual([
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    ]);
    expect(v.validate(cr({ cronSpec: '* * * * *', replicas: 1.5 }))[0]?.type).toBe('FieldValueTypeInvalid');
    expect(check('nope')).toEqual(['spec: Invalid value: "string": spec in body must be of type object: "string"']);
    expect(check({ cronSpec: '* * * * *', port: true })).toEqual(['spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"']);
    expect(check({ cronSpec: '* * * * *', image: null })).toEqual(['spec.image: Invalid value: "null": spec.image in body must be of type string: "null"']);
  });

  it('schema - required and enum', () => {
    expect(check({})).toEqual(['spec.cronSpec: Required value']);
    expect(check({ cronSpec: '* * * * *', mode: 'Medium' })).toEqual(['spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"']);
  });

  it('schema - numeric, string and array bounds', () => {
    expect(check({ cronSpec: 'x', image: '', replicas: 11, ratio: 1, tags: ['a', 'b', 'a'] })).toEqual([
      "spec.cronSpec: Invalid value: \"x\": spec.cronSpec in body should match '^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$'",
      'spec.image: Invalid value: "": spec.image in body should be at least 1 chars long',
      'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10',
      'spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1',
      'spec.tags: Too many: 3: must have at most 2 items',
      'spec.tags[2]: Duplicate value: "a"',
    ]);
    expect(check({ cronSpec: '* * * * *', image: 'x'.repeat(11), replicas: 0, tags: [] })).toEqual([
      'spec.image: Too long: may not be more than 10 bytes',
      'spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1',
      'spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items',
    ]);
  });

  it('schema - formats, list maps, additionalProperties, embedded resources', () => {
    expect(
      check({ cronSpec: '* * * * *', when: 'yesterday', count32: 2 ** 31, hosts: [{ name: 'a', ip: 'x' }, { name: 'a' }, {}], env: { A: 1 }, template: { kind: 'Pod' } }),
    ).toEqual([
      'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
      'spec.count32: Invalid value: 2147483648: spec.count32 in body must be of type int32: "2147483648"',
      'spec.hosts[0].ip: Invalid value: "x": spec.hosts[0].ip in body must be of type ipv4: "x"',
      'spec.hosts[2].name: Required value',
      'spec.hosts[1]: Duplicate value: {"name":"a"}',
      'spec.env.A: Invalid value: "integer": spec.env.A in body must be of type string: "integer"',
      'spec.template.apiVersion: Required value: must not be empty',
    ]);
  });

  it('schema - root apiVersion/kind/metadata are always allowed, but typed', () => {
    const strict = compileStructuralSchema({ type: 'object', properties: { spec: { type: 'object', additionalProperties: false } } });
    expect(strict.validate({ apiVersion: 'a/v1', kind: 'K', metadata: { name: 'x' } })).toEqual([]);
    expect(strict.validate({ apiVersion: 1, kind: 'K', metadata: 'x' }).map((e) => e.field)).toEqual(['apiVersion', 'metadata']);
    expect(strict.validate({ spec: { extra: 1 } }).map(formatFieldError)).toEqual(['spec.extra: Forbidden: spec.extra in body is a forbidden property']);
  });

  it('schema - allOf, anyOf, oneOf, not', () => {
    const j = compileStructuralSchema({
      type: 'object',
      properties: {
        a: { type: 'integer', anyOf: [{ minimum: 10 }, { maximum: 0 }] },
        b: { type: 'string', oneOf: [{ pattern: '^x' }, { pattern: 'y$' }] },
        c: { type: 'string', not: { enum: ['forbidden'] }, allOf: [{ minLength: 2 }] },
      },
    });
    expect(j.validate({ a: 11, b: 'xa', c: 'ok' })).toEqual([]);
    expect(j.validate({ a: 5, b: 'xy', c: 'forbidden' }).map(formatFieldError)).toEqual([
      'a: Invalid value: 5: a in body must validate at least one schema (anyOf)',
      'b: Invalid value: "xy": b in body must validate one and only one schema (oneOf). Found 2 valid alternatives',
      'c: Invalid value: "forbidden": c in body must not validate the schema (not)',
    ]);
    expect(j.validate({ c: 'x' }).map((e) => e.field)).toEqual(['c']);
  });
});
