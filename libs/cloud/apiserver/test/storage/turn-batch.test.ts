// The turn batch (the writes of one event-loop turn share one transaction) and remembered rows, on real
// SQLite files: what another connection sees and when, what a rolled-back batch leaves, and that a
// remembered row is never stale.
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { StorageEvent } from '../../src/storage/index';
import type { StoreFixture } from './helpers';
import { nextTurn, storeFixture, thrown } from './helpers';

let fx: StoreFixture;
beforeEach(async () => {
  fx = await storeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

/** a trigger another connection adds: an insert of this key makes SQLite roll the whole transaction back */
function armRollbackOn(file: string, key: string): void {
  const raw = new Database(file);
  try {
    raw.exec(`CREATE TRIGGER roll_back_batch BEFORE INSERT ON log WHEN NEW.name = '${key}' BEGIN SELECT RAISE(ROLLBACK, 'injected failure'); END`);
  } finally {
    raw.close();
  }
}

function batchSizes(registry: Registry): Promise<{ count: number; sum: number }> {
  return registry.getSingleMetricAsString('kedge_sqlite_group_commit_batch_size').then((text) => ({
    count: Number(/_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? NaN),
    sum: Number(/_sum\{[^}]*\} (\d+)/.exec(text)?.[1] ?? NaN),
  }));
}

describe('turn batch', () => {
  test('batch - the writes of one turn are one commit, acknowledged together once it is on disk, then seen by another connection', async () => {
    const registry = new Registry();
    const store = fx.open({ registry });
    const events: StorageEvent[] = [];
    store.watch('/', 0, (event) => events.push(event));
    for (let i = 1; i <= 20; i++) expect(store.create(`/k/${i}`, `v${i}`).revision).toBe(i);
    const durable = store.whenDurable();
    // nothing is told before the commit and its fsync
    expect(events).toEqual([]);
    const reader = new Database(fx.file, { readonly: true });
    try {
      expect(reader.prepare('SELECT COUNT(*) FROM log').pluck().get()).toBe(0);
      await durable;
      expect(reader.prepare('SELECT COUNT(*) FROM log').pluck().get()).toBe(20);
    } finally {
      reader.close();
    }
    expect(events.map((event) => event.revision)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // one commit, one fsync
    expect(await batchSizes(registry)).toEqual({ count: 1, sum: 1 });
  });

  test('batch - a refused write (key exists, stale revision) leaves the other writes of its turn in place', async () => {
    const store = fx.open();
    store.create('/a', 'a1');
    expect(thrown(() => store.create('/a', 'again'))).toMatchObject({ name: 'KeyExistsError' });
    expect(thrown(() => store.update('/a', 7, 'a2'))).toMatchObject({ name: 'RevisionConflictError' });
    store.create('/b', 'b1');
    await store.whenDurable();
    const reopened = fx.open();
    expect(reopened.list('/').items.map((item) => [item.key, item.revision, item.value])).toEqual([
      ['/a', 1, 'a1'],
      ['/b', 2, 'b1'],
    ]);
  });

  test('batch - a batch SQLite rolls back is never acknowledged: its waiters and any whenDurable(mark) from before it reject, watchers never hear of it', async () => {
    const store = fx.open();
    const events: StorageEvent[] = [];
    store.watch('/', 0, (event) => events.push(event));
    store.create('/kept', 'k');
    await store.whenDurable();
    armRollbackOn(fx.file, '/boom');

    const mark = store.durabilityMark();
    store.create('/lost', 'l');
    const waiting = store.whenDurable(mark);
    const failure = thrown(() => store.create('/boom', 'b'));
    expect(failure).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER' });
    await expect(waiting).rejects.toBe(failure);
    // a caller that asks only now, with its mark from before its write, is refused too
    await expect(store.whenDurable(mark)).rejects.toBe(failure);
    expect(store.get('/lost')).toBeUndefined();

    // the store goes on: the next write reuses the revision the rolled-back one had
    await nextTurn();
    const next = store.durabilityMark();
    expect(store.create('/after', 'a').revision).toBe(2);
    await store.whenDurable(next);
    expect(events.map((event) => `${event.key}@${event.revision}`)).toEqual(['/kept@1', '/after@2']);
    const reopened = fx.open();
    expect(reopened.list('/').items.map((item) => item.key)).toEqual(['/after', '/kept']);
  });
});

describe('remembered rows', () => {
  test('get remember - follows this store writes, deletes and rolled-back batches', async () => {
    const store = fx.open();
    expect(store.get('/ns', { remember: true })).toBeUndefined();
    store.create('/ns', 'v1');
    expect(store.get('/ns', { remember: true })).toMatchObject({ revision: 1, value: 'v1' });
    store.update('/ns', 1, 'v2');
    expect(store.get('/ns', { remember: true })).toMatchObject({ revision: 2, value: 'v2' });
    await store.whenDurable();
    armRollbackOn(fx.file, '/boom');
    store.update('/ns', 2, 'v3');
    expect(store.get('/ns', { remember: true })).toMatchObject({ revision: 3, value: 'v3' });
    expect(() => store.create('/boom', 'b')).toThrow();
    expect(store.get('/ns', { remember: true })).toMatchObject({ revision: 2, value: 'v2' });
    await nextTurn();
    store.delete('/ns');
    expect(store.get('/ns', { remember: true })).toBeUndefined();
  });

  test("get remember - another connection's commit is seen on the next get", async () => {
    const store = fx.open();
    const other = fx.open();
    store.create('/ns', 'mine');
    await store.whenDurable();
    expect(store.get('/ns', { remember: true })?.value).toBe('mine');
    other.update('/ns', 1, 'theirs');
    await other.whenDurable();
    expect(store.get('/ns', { remember: true })).toMatchObject({ revision: 2, value: 'theirs' });
    other.delete('/ns');
    await other.whenDurable();
    expect(store.get('/ns', { remember: true })).toBeUndefined();
  });
});
