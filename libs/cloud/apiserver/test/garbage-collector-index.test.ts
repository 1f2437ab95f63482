// The garbage collector reads the uid of an object with no owners, finalizers or deletion mark from its
// stored text without parsing it; anything it cannot be sure of is parsed instead.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plainObjectUid } from '../src/controllers/garbage-collector';

const uid = randomUUID();
const stored = (object: unknown): string => JSON.stringify(object);

describe('garbage collector index', () => {
  it('plainObjectUid - the metadata uid of a plain object, even when its data mentions uid in text', () => {
    const value = stored({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', namespace: 'default', labels: { 'uid.kedge.io': 'x' }, uid },
      data: { note: 'a "uid":"00000000-0000-0000-0000-000000000000" in text', 'uid.txt': 'x' },
    });
    expect(plainObjectUid(value)).toBe(uid);
  });

  it('plainObjectUid - undefined (parse it) for owners, finalizers, a deletion mark, a second uid member or none', () => {
    const meta = { name: 'a', uid };
    expect(plainObjectUid(stored({ metadata: { ...meta, ownerReferences: [{ uid: randomUUID() }] } }))).toBeUndefined();
    expect(plainObjectUid(stored({ metadata: { ...meta, finalizers: ['f'] } }))).toBeUndefined();
    expect(plainObjectUid(stored({ metadata: { ...meta, deletionTimestamp: '2026-01-01T00:00:00Z' } }))).toBeUndefined();
    expect(plainObjectUid(stored({ metadata: meta, involvedObject: { uid: randomUUID() } }))).toBeUndefined();
    expect(plainObjectUid(stored({ metadata: meta, data: { uid: 'mine' } }))).toBeUndefined();
    expect(plainObjectUid(stored({ metadata: { name: 'a' } }))).toBeUndefined();
    expect(plainObjectUid(stored({ metadata: { name: 'a', uid: 'not-a-uuid' } }))).toBeUndefined();
  });

  it('plainObjectUid - whenever it answers, it answers what parsing gives', () => {
    const member = fc.oneof(fc.string(), fc.constant('uid'), fc.constant('"uid":"'), fc.constant(uid));
    fc.assert(
      fc.property(fc.dictionary(member, fc.oneof(member, fc.dictionary(member, member, { maxKeys: 2 })), { maxKeys: 4 }), (data) => {
        const value = stored({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', uid }, data });
        const found = plainObjectUid(value);
        if (found !== undefined) expect(found).toBe((JSON.parse(value) as { metadata: { uid: string } }).metadata.uid);
      }),
      { numRuns: 500 },
    );
  });
});
