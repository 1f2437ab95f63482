// A create answers with JSON made from the text it stored (encodeServed) instead of decoding that text and
// encoding it again: for any object, both texts must be exactly what the general path gives, key order included.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@kedge/kube-core';
import { decodeObject, encodeObject, encodeServed } from '../src/registry/object-codec';
import { ResourceCatalog } from '../src/resources/index';

const catalog = new ResourceCatalog();

const key = fc.oneof(fc.constantFrom('apiVersion', 'kind', 'spec', 'status', 'data', '__proto__', 'a"b', 'ü', '10', '2', ''), fc.string());
const leaf = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.constant(undefined));
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
})).node;
const metadata = fc.record(
  {
    name: fc.string(),
    namespace: fc.string(),
    uid: fc.uuid(),
    resourceVersion: fc.string(),
    labels: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
    generation: fc.integer(),
    extra: value,
  },
  { requiredKeys: [] },
);
// top-level members in any order, metadata among them (or missing), some encoding to nothing
const object = fc
  .tuple(fc.array(fc.tuple(key, value), { maxLength: 6 }), metadata, fc.nat(6), fc.boolean())
  .map(([members, meta, at, withMetadata]) => {
    const entries: Array<[string, unknown]> = members.filter(([name]) => name !== 'metadata');
    if (withMetadata) entries.splice(Math.min(at, entries.length), 0, ['metadata', meta]);
    const built: Record<string, unknown> = {};
    for (const [name, member] of entries) Object.defineProperty(built, name, { value: member, enumerable: true, writable: true, configurable: true });
    if (!withMetadata) Object.defineProperty(built, 'metadata', { value: meta, enumerable: false, writable: true, configurable: true });
    return built as unknown as KubeObject;
  });

describe('object codec', () => {
  it('encodeServed - stored text equals encodeObject, served text equals decodeObject then JSON.stringify, for any object and revision', () => {
    const configMaps = catalog.find('', 'v1', 'configmaps');
    expect(configMaps?.storedAsServed).toBe(true);
    if (configMaps === undefined) return;
    fc.assert(
      fc.property(object, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (input, revision) => {
        const encoded = encodeServed(input);
        const stored = encodeObject(configMaps, input);
        expect(encoded.stored).toBe(stored);
        expect(encoded.served(revision)).toBe(JSON.stringify(decodeObject(configMaps, stored, revision)));
      }),
      { numRuns: 1_000 },
    );
  });

  it('storedAsServed - only types whose wire form is their stored form say so (events.k8s.io events are converted)', () => {
    expect(catalog.find('', 'v1', 'pods')?.storedAsServed).toBe(true);
    expect(catalog.find('events.k8s.io', 'v1', 'events')?.storedAsServed).toBe(false);
  });
});
