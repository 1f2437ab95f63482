// MetaStore on real SQLite files: version rules of apply, the local change log behind watches,
// compaction, persistence across reopen, selectors, and that bad messages never reach the tables.
import { join } from 'node:path';
import { newMessage } from '@kedge/protocol';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { BadMessageError, LocalRevisionCompactedError, type ChangeEvent } from '../src/index';
import { Cleanup, downMessage, openStore, tempDir } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

function newStore(options: { keepChanges?: number } = {}) {
  const file = join(tempDir(cleanup), 'edgecore.db');
  return { file, store: openStore(cleanup, file, options) };
}

function summary(events: ChangeEvent[]): string[] {
  return events.map((event) => `${event.type} ${event.object.namespace}/${event.object.name}@${event.object.localRevision}`);
}

describe('MetaStore', () => {
  it('apply - insert creates, a higher version updates, and versions compare as integers (9 < 10)', () => {
    const { store } = newStore();
    expect(store.apply(downMessage({ name: 'web', rv: '9', fields: { spec: { v: 1 } } }))).toEqual({ applied: true, reason: 'created', localRevision: 1 });
    expect(store.apply(downMessage({ operation: 'update', name: 'web', rv: '10', fields: { spec: { v: 2 } } }))).toEqual({
      applied: true,
      reason: 'updated',
      localRevision: 2,
    });
    const stored = store.get('pod', 'default', 'web');
    expect(stored?.resourceVersion).toBe('10');
    expect(stored?.localRevision).toBe(2);
    expect(stored?.object['spec']).toEqual({ v: 2 });
  });

  it('apply - duplicates and older versions are not applied, also beyond 2^53', () => {
    const { store } = newStore();
    store.apply(downMessage({ name: 'web', rv: '9007199254740993', fields: { spec: { v: 'kept' } } }));
    expect(store.apply(downMessage({ name: 'web', rv: '9007199254740993' }))).toEqual({ applied: false, reason: 'duplicate' });
    expect(store.apply(downMessage({ name: 'web', rv: '9007199254740992' }))).toEqual({ applied: false, reason: 'stale' });
    expect(store.get('pod', 'default', 'web')?.object['spec']).toEqual({ v: 'kept' });
    expect(store.localRevision).toBe(1);
  });

  it('apply - an update for an unknown object creates it (the cloud sends secrets as updates)', () => {
    const { store } = newStore();
    const result = store.apply(downMessage({ operation: 'update', type: 'secret', name: 'token', rv: '4', fields: { data: { a: 'eA==' } } }));
    expect(result.reason).toBe('created');
    expect(store.get('secret', 'default', 'token')?.object['data']).toEqual({ a: 'eA==' });
  });

  it('apply - delete removes; an unknown object is not-found; an older version is stale', () => {
    const { store } = newStore();
    store.apply(downMessage({ name: 'web', rv: '7' }));
    expect(store.apply(downMessage({ operation: 'delete', name: 'web', rv: '6' }))).toEqual({ applied: false, reason: 'stale' });
    expect(store.get('pod', 'default', 'web')).toBeDefined();
    expect(store.apply(downMessage({ operation: 'delete', name: 'web', rv: '7' }))).toMatchObject({ applied: true, reason: 'deleted' });
    expect(store.get('pod', 'default', 'web')).toBeUndefined();
    expect(store.apply(downMessage({ operation: 'delete', name: 'web', rv: '8' }))).toEqual({ applied: false, reason: 'not-found' });
  });

  it('apply - a late resend of an older insert does not resurrect a deleted object', () => {
    const { store } = newStore();
    store.apply(downMessage({ name: 'web', rv: '5' }));
    store.apply(downMessage({ operation: 'delete', name: 'web', rv: '6' }));
    expect(store.apply(downMessage({ name: 'web', rv: '5' }))).toEqual({ applied: false, reason: 'stale' });
    expect(store.get('pod', 'default', 'web')).toBeUndefined();
    expect(store.apply(downMessage({ name: 'web', rv: '9' }))).toMatchObject({ applied: true, reason: 'created' });
  });

  it('apply - cluster-scoped objects live under namespace null and are found with or without it', () => {
    const { store } = newStore();
    store.apply(downMessage({ operation: 'update', type: 'node', namespace: 'null', name: 'gw-1', rv: '3' }));
    expect(store.get('node', 'null', 'gw-1')?.name).toBe('gw-1');
    expect(store.get('node', undefined, 'gw-1')?.namespace).toBe('null');
    expect(store.list('node').map((stored) => stored.name)).toEqual(['gw-1']);
  });

  it('apply - bad messages throw BadMessageError naming the field and write nothing', () => {
    const { store } = newStore();
    const cases: [ReturnType<typeof downMessage>, string][] = [
      [downMessage({ name: 'web', rv: '1', content: 'not an object' }), 'content'],
      [downMessage({ name: 'web', rv: '1', content: { spec: {} } }), 'content.metadata'],
      [downMessage({ name: 'web', rv: '1', content: { metadata: { name: 'other', namespace: 'default' } } }), 'content.metadata.name'],
      [downMessage({ name: 'web', rv: '1', content: { metadata: { name: 'web', namespace: 'kube-system' } } }), 'content.metadata.namespace'],
      [downMessage({ name: 'web', rv: '1', content: { kind: 'Secret', metadata: { name: 'web', namespace: 'default' } } }), 'content.kind'],
      [downMessage({ name: 'web' }), 'header.resourceversion'],
      [downMessage({ name: 'web', rv: 'abc' }), 'header.resourceversion'],
      [downMessage({ name: 'web', rv: '1', operation: 'patch' }), 'route.operation'],
      [downMessage({ type: 'node', namespace: 'null', name: 'gw-1', rv: '1', content: { metadata: { name: 'gw-1', namespace: 'default' } } }), 'content.metadata.namespace'],
      [newMessage({ source: 'edgecontroller', group: 'resource', operation: 'insert', resource: 'default/pod', resourceVersion: '1', content: {} }), 'route.resource'],
      [newMessage({ source: 'edgecontroller', group: 'resource', operation: 'insert', resource: 'Default/pod/x', resourceVersion: '1', content: {} }), 'route.resource'],
    ];
    for (const [message, field] of cases) {
      const error = (() => {
        try {
          store.apply(message);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, field).toBeInstanceOf(BadMessageError);
      expect((error as BadMessageError).field).toBe(field);
      expect((error as BadMessageError).message).toContain(field);
    }
    expect(store.localRevision).toBe(0);
    expect(store.countByType().size).toBe(0);
  });

  it('apply - arbitrary messages either apply or throw BadMessageError, and only valid objects are stored', () => {
    const { store } = newStore();
    const resource = fc.oneof(fc.constantFrom('default/pod/web', 'null/node/gw-1', 'x/configmap/cfg', 'default/pod'), fc.string({ maxLength: 30 }));
    const content = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      fc.record({ metadata: fc.record({ name: fc.constantFrom('web', 'gw-1', 'cfg', 'x'), namespace: fc.constantFrom('default', 'x', '', undefined) }, { requiredKeys: [] }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom('insert', 'update', 'delete', 'patch', 'query', ''), resource, fc.option(fc.oneof(fc.nat().map(String), fc.string({ maxLength: 25 }))), content, (operation, res, rv, body) => {
        const message = newMessage({ source: 'edgecontroller', group: 'resource', operation, resource: res, content: body, ...(rv === null ? {} : { resourceVersion: rv }) });
        try {
          store.apply(message);
        } catch (error) {
          if (!(error instanceof BadMessageError)) throw error;
        }
        for (const type of store.countByType().keys()) {
          for (const stored of store.list(type)) {
            expect(stored.object.metadata.name).toBe(stored.name);
            expect(stored.resourceVersion).toMatch(/^\d+$/);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('watch - replays the log after a revision, then streams live changes, filtered by type and namespace', () => {
    const { store } = newStore();
    store.apply(downMessage({ name: 'a', rv: '1' }));
    store.apply(downMessage({ name: 'b', namespace: 'other', rv: '2' }));
    store.apply(downMessage({ type: 'configmap', name: 'cfg', rv: '3' }));
    store.apply(downMessage({ operation: 'update', name: 'a', rv: '4' }));
    const all: ChangeEvent[] = [];
    const inDefault: ChangeEvent[] = [];
    const stopAll = store.watch('pod', undefined, 1, (event) => all.push(event));
    store.watch('pod', 'default', 0, (event) => inDefault.push(event));
    store.apply(downMessage({ operation: 'delete', name: 'a', rv: '5' }));
    stopAll();
    store.apply(downMessage({ name: 'c', rv: '6' }));
    expect(summary(all)).toEqual(['ADDED other/b@2', 'MODIFIED default/a@4', 'DELETED default/a@5']);
    expect(summary(inDefault)).toEqual(['ADDED default/a@1', 'MODIFIED default/a@4', 'DELETED default/a@5', 'ADDED default/c@6']);
  });

  it('watch - resumes from a revision after the store is closed and reopened', () => {
    const { file, store } = newStore();
    store.apply(downMessage({ name: 'a', rv: '10' }));
    store.apply(downMessage({ name: 'b', rv: '11' }));
    const seen = store.localRevision;
    store.apply(downMessage({ operation: 'update', name: 'a', rv: '12' }));
    store.close();
    const reopened = openStore(cleanup, file);
    expect(reopened.localRevision).toBe(3);
    const events: ChangeEvent[] = [];
    reopened.watch('pod', undefined, seen, (event) => events.push(event));
    reopened.apply(downMessage({ name: 'c', rv: '13' }));
    expect(summary(events)).toEqual(['MODIFIED default/a@3', 'ADDED default/c@4']);
  });

  it('watch - the log keeps the last keepChanges entries; older revisions throw LocalRevisionCompactedError', () => {
    const { file, store } = newStore({ keepChanges: 3 });
    for (let rv = 1; rv <= 6; rv += 1) store.apply(downMessage({ name: `p${rv}`, rv: String(rv) }));
    expect(store.oldestResumableRevision).toBe(3);
    expect(() => store.watch('pod', undefined, 2, () => undefined)).toThrow(LocalRevisionCompactedError);
    const events: ChangeEvent[] = [];
    store.watch('pod', undefined, 3, (event) => events.push(event));
    expect(summary(events)).toEqual(['ADDED default/p4@4', 'ADDED default/p5@5', 'ADDED default/p6@6']);
    store.close();
    const reopened = openStore(cleanup, file, { keepChanges: 3 });
    expect(reopened.oldestResumableRevision).toBe(3);
    expect(() => reopened.watch('pod', undefined, 1, () => undefined)).toThrow(LocalRevisionCompactedError);
    // a revision this store never reached (a replaced database) cannot be resumed either
    const ahead = (() => {
      try {
        reopened.watch('pod', undefined, 99, () => undefined);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(ahead).toBeInstanceOf(LocalRevisionCompactedError);
    expect((ahead as LocalRevisionCompactedError).code).toBe('LOCAL_REVISION_COMPACTED');
  });

  it('watch - a throwing listener does not stop other watchers or the apply', () => {
    const { store } = newStore();
    const seen: string[] = [];
    store.watch('pod', undefined, 0, () => {
      throw new Error('broken watcher');
    });
    store.watch('pod', undefined, 0, (event) => seen.push(event.object.name));
    expect(store.apply(downMessage({ name: 'a', rv: '1' })).applied).toBe(true);
    expect(seen).toEqual(['a']);
  });

  it('list - filters by namespace, label selector and field selector', () => {
    const { store } = newStore();
    store.apply(downMessage({ name: 'web', rv: '1', labels: { app: 'web', tier: 'front' }, fields: { spec: { nodeName: 'gw-1' } } }));
    store.apply(downMessage({ name: 'db', rv: '2', labels: { app: 'db' }, fields: { spec: { nodeName: 'gw-2' } } }));
    store.apply(downMessage({ name: 'cache', namespace: 'x', rv: '3', labels: { app: 'cache' }, fields: { spec: { nodeName: 'gw-1' } } }));
    const names = (namespace: string | undefined, labelSelector?: string, fieldSelector?: string): string[] =>
      store.list('pod', namespace, { ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }).map((stored) => stored.name);
    expect(names(undefined)).toEqual(['db', 'web', 'cache']);
    expect(names('default')).toEqual(['db', 'web']);
    expect(names(undefined, 'app in (web,cache)')).toEqual(['web', 'cache']);
    expect(names(undefined, 'app!=web,!tier')).toEqual(['db', 'cache']);
    expect(names(undefined, 'tier')).toEqual(['web']);
    expect(names(undefined, undefined, 'spec.nodeName=gw-1')).toEqual(['web', 'cache']);
    expect(names(undefined, undefined, 'metadata.namespace!=default')).toEqual(['cache']);
    expect(() => names(undefined, 'app in (web')).toThrow(/labelSelector/);
    expect(() => names(undefined, undefined, 'spec.hostname=x')).toThrow(/not a supported field selector/);
  });
});
