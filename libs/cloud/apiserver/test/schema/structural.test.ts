import { describe, expect, it } from 'vitest';
import { isStructuralSchema } from '../../src/schema/index';
import { formatFieldError } from '../../src/validation/index';

const P = 'spec.versions[0].schema.openAPIV3Schema';
const check = (schema: unknown) => isStructuralSchema(schema, P).map(formatFieldError);

describe('schema - structural schema check', () => {
  it('structural - accepts typical CRD schemas', () => {
    expect(
      check({
        type: 'object',
        properties: {
          metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 20 } } },
          spec: {
            type: 'object',
            required: ['a'],
            properties: {
              a: { type: 'string', enum: ['x'] },
              port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
              free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              any: { 'x-kubernetes-preserve-unknown-fields': true },
              list: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
              m: { type: 'object', additionalProperties: { type: 'integer', default: 1 } },
              one: { type: 'string', oneOf: [{ pattern: '^a' }, { pattern: '^b' }] },
              n: { type: 'object', properties: { x: { type: 'string' } }, anyOf: [{ required: ['x'] }, { properties: { x: { minLength: 1 } } }] },
            },
          },
          status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        },
      }),
    ).toEqual([]);
  });

  it('structural - missing types are refused with the upstream path', () => {
    expect(check({ type: 'object', properties: { spec: { properties: { a: { type: 'string' } } } } })).toEqual([
      `${P}.properties[spec].type: Required value: must not be empty for specified object fields`,
    ]);
    expect(check({ properties: {} })).toEqual([`${P}.type: Required value: must not be empty at the root`]);
    expect(check({ type: 'string' })).toEqual([`${P}.type: Invalid value: "string": must be object at the root`]);
  });

  it('structural - forbidden constructs', () => {
    const errs = check({
      type: 'object',
      properties: {
        a: { type: 'array' },
        b: { type: 'array', items: [{ type: 'string' }] },
        c: { type: 'object', properties: { x: { type: 'string' } }, additionalProperties: { type: 'string' } },
        d: { $ref: '#/definitions/x', type: 'object' },
        e: { type: 'string', anyOf: [{ type: 'string' }] },
        f: { type: 'array', items: { type: 'string' }, uniqueItems: true },
        g: { type: 'string', pattern: '(' },
        h: { type: 'fancy' },
        i: { type: 'object', 'x-kubernetes-preserve-unknown-fields': false },
        j: { type: 'integer', default: 'one' },
        k: { type: 'object', properties: { x: { type: 'string' } }, anyOf: [{ properties: { y: { type: 'string' } } }] },
      },
    });
    expect(errs).toEqual([
      `${P}.properties[a].items: Required value: must be specified`,
      `${P}.properties[b].items: Forbidden: items must be a schema object and not an array`,
      `${P}.properties[c].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
      `${P}.properties[d].$ref: Forbidden: $ref is not supported`,
      `${P}.properties[e].anyOf[0].type: Forbidden: must be empty to be structural`,
      `${P}.properties[f].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
      `${P}.properties[g].pattern: Invalid value: "(": must be a valid regular expression`,
      `${P}.properties[h].type: Unsupported value: "fancy": supported values: "array", "boolean", "integer", "number", "object", "string"`,
      `${P}.properties[i].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
      `${P}.properties[j].default: Invalid value: "one": Invalid value: "string": <root> in body must be of type integer: "string"`,
      `${P}.properties[k].anyOf[0].properties[y].type: Forbidden: must be empty to be structural`,
      `${P}.properties[k].anyOf[0].properties[y]: Required value: must also be specified outside of the junctor to be structural`,
    ]);
  });

  it('structural - root metadata may only constrain name and generateName', () => {
    expect(check({ type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } })).toEqual([
      `${P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    ]);
  });

  it('structural - garbage gives type errors, never throws', () => {
    expect(check('x')).toEqual([`${P}: Invalid value: "string": ${P} in body must be of type object: "string"`]);
    expect(check({ type: 'object', properties: { a: 5 } })[0]).toContain('properties[a]');
    expect(check({ type: 'object', properties: [], required: 'x', minLength: -1 }).length).toBe(3);
  });
});
