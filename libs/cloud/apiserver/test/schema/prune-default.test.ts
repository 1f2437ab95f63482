import { describe, expect, it } from 'vitest';
import { compileStructuralSchema } from '../../src/schema/index';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        replicas: { type: 'integer', default: 1 },
        image: { type: 'string' },
        strategy: { type: 'object', default: {}, properties: { type: { type: 'string', default: 'Rolling' }, maxSurge: { type: 'integer' } } },
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, weight: { type: 'integer', default: 10 } } } },
        labels: { type: 'object', additionalProperties: { type: 'object', properties: { v: { type: 'string', default: 'x' } } } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'object', properties: { a: { type: 'string' } } } } },
        template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: { x: { type: 'string' } } } } },
        nothing: { type: 'string', nullable: true, default: 'd' },
        dropped: { type: 'string', default: 'filled' },
      },
    },
    status: { type: 'object', properties: { ready: { type: 'boolean' } } },
  },
};
const v = compileStructuralSchema(schema);

describe('schema - pruning and defaulting', () => {
  it('prune - removes unknown fields, keeps apiVersion/kind/metadata', () => {
    const input = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', anything: true },
      spec: {
        image: 'x',
        bogus: 1,
        items: [{ name: 'a', junk: true }],
        labels: { k: { v: 'y', extra: 1 } },
        free: { anything: { goes: 1 }, known: { a: 'a', b: 'pruned' } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 'y', z: 'pruned' }, other: 1 },
      },
      status: { ready: true, phase: 'gone' },
      extra: 'gone',
    };
    const pruned = v.prune(input);
    expect(pruned).toEqual({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', anything: true },
      spec: {
        image: 'x',
        items: [{ name: 'a' }],
        labels: { k: { v: 'y' } },
        free: { anything: { goes: 1 }, known: { a: 'a' } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { x: 'y' } },
      },
      status: { ready: true },
    });
    expect(input.extra).toBe('gone'); // copy, not in place
  });

  it('defaults - fill missing fields recursively, including items and additionalProperties', () => {
    const out = v.applyDefaults({ apiVersion: 'a/v1', kind: 'W', metadata: {}, spec: { items: [{ name: 'a' }, { name: 'b', weight: 1 }], labels: { k: {} }, nothing: null, dropped: null } });
    expect(out).toEqual({
      apiVersion: 'a/v1',
      kind: 'W',
      metadata: {},
      spec: {
        replicas: 1,
        strategy: { type: 'Rolling' },
        items: [{ name: 'a', weight: 10 }, { name: 'b', weight: 1 }],
        labels: { k: { v: 'x' } },
        nothing: null, // nullable nulls are kept and not defaulted
        dropped: 'filled', // non-nullable nulls are dropped, then defaulted
      },
    });
  });

  it('defaults - absent parents are not created; existing values win', () => {
    expect(v.applyDefaults({ apiVersion: 'a/v1', kind: 'W' })).toEqual({ apiVersion: 'a/v1', kind: 'W' });
    expect(v.applyDefaults({ spec: { replicas: 5, strategy: { type: 'Recreate' } } })).toMatchObject({ spec: { replicas: 5, strategy: { type: 'Recreate' } } });
  });

  it('prune and defaults - non-objects pass through unchanged', () => {
    for (const x of [null, 1, 'x', [1, 2]]) {
      expect(v.prune(x)).toEqual(x);
      expect(v.applyDefaults(x)).toEqual(x);
    }
  });
});
