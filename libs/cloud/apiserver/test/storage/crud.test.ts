import Database from 'better-sqlite3';
import { stat, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  CorruptStorageError,
  InvalidStorageArgumentError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionCompactedError,
  RevisionConflictError,
  RevisionTooNewError,
  SCHEMA_VERSION,
  StorageClosedError,
  StorageError,
  UnsupportedSchemaError,
  openSqliteStorage,
} from '../../src/storage/index';
import type { StoreFixture } from './helpers';
import { nextTurn, storeFixture, thrown } from './helpers';

const PODS = '/registry/core/pods/default/';

let fx: StoreFixture;
beforeEach(async () => {
  fx = await storeFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

function rowCount(file: string, key?: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const sql = key === undefined ? 'SELECT COUNT(*) FROM log' : 'SELECT COUNT(*) FROM log WHERE name = ?';
    return db.prepare<string[], number>(sql).pluck().get(...(key === undefined ? [] : [key])) ?? -1;
  } finally {
    db.close();
  }
}

describe('crud', () => {
  test('crud - each write gets the next global revision; updates keep createRevision', () => {
    const store = fx.open();
    expect(store.currentRevision()).toBe(0);
    expect(store.get(`${PODS}a`)).toBeUndefined();
    expect(store.create(`${PODS}a`, '{"v":1}')).toEqual({ key: `${PODS}a`, revision: 1, createRevision: 1, value: '{"v":1}' });
    expect(store.create(`${PODS}b`, '{"v":1}').revision).toBe(2);
    expect(store.update(`${PODS}a`, 1, '{"v":2}')).toEqual({ key: `${PODS}a`, revision: 3, createRevision: 1, value: '{"v":2}' });
    expect(store.get(`${PODS}a`)).toEqual({ key: `${PODS}a`, revision: 3, createRevision: 1, value: '{"v":2}' });
    expect(store.delete(`${PODS}a`, 3)).toEqual({ key: `${PODS}a`, revision: 4, createRevision: 1, value: '{"v":2}' });
    expect(store.get(`${PODS}a`)).toBeUndefined();
    expect(store.get(`${PODS}b`)?.revision).toBe(2);
    expect(store.currentRevision()).toBe(4);
  });

  test('crud - create of a live key throws KeyExistsError; update or delete of a missing or deleted key throws KeyNotFoundError', () => {
    const store = fx.open();
    store.create('/k', '1');
    expect(thrown(() => store.create('/k', '2'))).toMatchObject({ name: 'KeyExistsError', code: 'KEY_EXISTS', key: '/k', currentRevision: 1 });
    expect(thrown(() => store.update('/missing', 1, '1'))).toBeInstanceOf(KeyNotFoundError);
    expect(thrown(() => store.delete('/missing'))).toMatchObject({ code: 'KEY_NOT_FOUND', key: '/missing' });
    store.delete('/k');
    expect(thrown(() => store.update('/k', 2, '3'))).toBeInstanceOf(KeyNotFoundError);
    expect(thrown(() => store.delete('/k', 2))).toBeInstanceOf(KeyNotFoundError);
    expect(store.currentRevision()).toBe(2);
  });

  test('crud - a stale expectedRevision throws RevisionConflictError with the current revision and writes nothing', () => {
    const store = fx.open();
    store.create('/k', '1');
    store.update('/k', 1, '2');
    const conflict = thrown(() => store.update('/k', 1, 'lost'));
    expect(conflict).toBeInstanceOf(RevisionConflictError);
    expect(conflict).toBeInstanceOf(StorageError);
    expect(conflict).toMatchObject({ code: 'REVISION_CONFLICT', key: '/k', expectedRevision: 1, currentRevision: 2 });
    expect((conflict as Error).message).toContain('read the latest version');
    expect(thrown(() => store.delete('/k', 1))).toMatchObject({ code: 'REVISION_CONFLICT', currentRevision: 2 });
    expect(store.get('/k')).toMatchObject({ revision: 2, value: '2' });
    expect(store.currentRevision()).toBe(2);
  });

  test('crud - create after delete starts a new object with a new createRevision', () => {
    const store = fx.open();
    store.create('/k', 'first');
    store.delete('/k');
    const again = store.create('/k', 'second');
    expect(again).toEqual({ key: '/k', revision: 3, createRevision: 3, value: 'second' });
    expect(store.update('/k', 3, 'third')).toMatchObject({ revision: 4, createRevision: 3 });
    store.delete('/k', 4);
    expect(store.create('/k', 'fourth').createRevision).toBe(6);
  });

  test('crud - keys and values round-trip non-ASCII text exactly', () => {
    const store = fx.open();
    const key = '/registry/core/configmaps/ns/名前-😀';
    const value = JSON.stringify({ data: { emoji: '😀', lone: '\ud800' } });
    store.create(key, value);
    expect(store.get(key)?.value).toBe(value);
    expect(store.list('/registry/core/configmaps/ns/').items.map((item) => item.key)).toEqual([key]);
  });

  test('validation - malformed keys, prefixes, limits and revisions throw InvalidStorageArgumentError', () => {
    const store = fx.open();
    store.create('/k', '1');
    for (const call of [
      () => store.create('', '1'),
      () => store.create('/a\u{10FFFF}', '1'),
      () => store.create('/lone\ud800', '1'),
      () => store.create('/nul\0', '1'),
      () => store.create('/v', 42 as unknown as string),
      () => store.create('/v', '"\ud800"'),
      () => store.update('/k', 0, '1'),
      () => store.update('/k', 1.5, '1'),
      () => store.list('/', { limit: -1 }),
      () => store.list('/', { atRevision: Number.NaN }),
      () => store.watch('/', -1, () => undefined),
      () => store.compact(-1),
    ]) {
      expect(thrown(call)).toMatchObject({ name: 'InvalidStorageArgumentError', code: 'INVALID_ARGUMENT' });
    }
    expect(thrown(() => store.create('/lone\ud800', '1'))).toBeInstanceOf(InvalidStorageArgumentError);
    expect(store.currentRevision()).toBe(1);
  });
});

describe('list', () => {
  test('list - a prefix ending in "/" does not match a sibling namespace that shares its text', () => {
    const store = fx.open();
    for (const key of [
      `${PODS}b`,
      '/registry/core/pods/default2/a',
      `${PODS}a`,
      '/registry/core/pods/default/',
      '/registry/core/pods/defaul',
      '/registry/core/podsx/default/a',
      '/registry/apps/deployments/default/a',
    ]) {
      store.create(key, key);
    }
    store.create(`${PODS}c`, 'gone');
    store.delete(`${PODS}c`);
    const result = store.list(PODS);
    expect(result.items.map((item) => item.key)).toEqual([`${PODS}`, `${PODS}a`, `${PODS}b`]);
    expect(result).toMatchObject({ revision: 9, more: false });
    expect(store.list('/registry/core/pods/').items).toHaveLength(5);
    expect(store.list('').items).toHaveLength(7);
    expect(store.list('/registry/core/pods/default3/').items).toEqual([]);
  });

  test('list - paging with limit and startAfterKey at a fixed atRevision is one snapshot while writes land between pages', () => {
    const store = fx.open();
    const keys = Array.from({ length: 10 }, (_, index) => `${PODS}p${String(index).padStart(2, '0')}`);
    for (const key of keys) store.create(key, `v1 ${key}`);
    const snapshot = store.list(PODS);

    const first = store.list(PODS, { limit: 4 });
    expect(first).toMatchObject({ revision: 10, more: true });
    const pages = [first.items];
    // changes between pages: before, inside and after the part already returned
    store.update(keys[1] ?? '', 2, 'changed');
    store.delete(keys[6] ?? '');
    store.update(keys[8] ?? '', 9, 'changed');
    store.create(`${PODS}p05x`, 'new');
    let last = first;
    while (last.more) {
      const after = last.items.at(-1)?.key;
      last = store.list(PODS, { limit: 4, startAfterKey: after, atRevision: first.revision });
      expect(last.revision).toBe(first.revision);
      pages.push(last.items);
    }
    expect(pages.map((page) => page.length)).toEqual([4, 4, 2]);
    expect(pages.flat()).toEqual(snapshot.items);

    const now = store.list(PODS);
    expect(now.revision).toBe(14);
    expect(now.items.map((item) => item.key)).toContain(`${PODS}p05x`);
    expect(now.items.map((item) => item.key)).not.toContain(keys[6]);
  });

  test('list - more is false when a page ends exactly at the last item, and limit 0 means all', () => {
    const store = fx.open();
    for (const name of ['a', 'b', 'c']) store.create(`${PODS}${name}`, name);
    expect(store.list(PODS, { limit: 3 })).toMatchObject({ more: false });
    expect(store.list(PODS, { limit: 2 })).toMatchObject({ more: true });
    expect(store.list(PODS, { limit: 2, startAfterKey: `${PODS}b` })).toMatchObject({ more: false, items: [{ key: `${PODS}c` }] });
    expect(store.list(PODS, { limit: 0 }).items).toHaveLength(3);
  });

  test('list - atRevision older than the compacted revision or newer than the current one is refused', () => {
    const store = fx.open();
    store.create('/k', '1');
    store.update('/k', 1, '2');
    store.update('/k', 2, '3');
    expect(store.list('/', { atRevision: 1 }).items).toEqual([{ key: '/k', revision: 1, createRevision: 1, value: '1' }]);
    expect(store.compact(1)).toBe(2);
    expect(store.compactedRevision()).toBe(2);
    expect(thrown(() => store.list('/', { atRevision: 1 }))).toMatchObject({
      name: 'RevisionCompactedError',
      code: 'REVISION_COMPACTED',
      requestedRevision: 1,
      compactedRevision: 2,
    });
    expect(store.list('/', { atRevision: 2 }).items).toEqual([{ key: '/k', revision: 2, createRevision: 1, value: '2' }]);
    expect(thrown(() => store.list('/', { atRevision: 4 }))).toBeInstanceOf(RevisionTooNewError);
  });
});

describe('compaction', () => {
  // rowCount reads through a connection of its own: it sees a turn's writes once the turn has ended
  test('compact - drops rows superseded at or below the point and old tombstones, keeping later revisions exact', async () => {
    const store = fx.open();
    store.create('/a', 'a1'); // 1
    store.create('/b', 'b1'); // 2
    store.update('/a', 1, 'a2'); // 3
    store.delete('/b'); // 4
    store.create('/c', 'c1'); // 5
    store.update('/a', 3, 'a3'); // 6
    store.update('/c', 5, 'c2'); // 7
    const at5 = store.list('/', { atRevision: 5 });
    const at6 = store.list('/', { atRevision: 6 });
    expect(store.compact(2)).toBe(5);
    await nextTurn();
    // gone: a@1 (superseded by a@3), b@2 and its tombstone b@4; kept: a@3 (superseded only above 5), c@5
    expect(rowCount(fx.file)).toBe(4);
    expect(store.list('/', { atRevision: 5 })).toEqual(at5);
    expect(store.list('/', { atRevision: 6 })).toEqual(at6);
    expect(store.compact(2)).toBe(5);
    expect(store.compact(0)).toBe(7);
    await nextTurn();
    expect(rowCount(fx.file)).toBe(2);
    expect(store.list('/').items.map((item) => item.value)).toEqual(['a3', 'c2']);
  });

  test('compact - a key deleted and compacted away can be created again', async () => {
    const store = fx.open();
    store.create('/k', '1');
    store.delete('/k');
    store.compact(0);
    await nextTurn();
    expect(rowCount(fx.file, '/k')).toBe(0);
    expect(store.create('/k', '2')).toMatchObject({ revision: 3, createRevision: 3 });
  });

  test('compact - automatic compaction runs after a write once compactIntervalMs has passed on the injected clock', async () => {
    let clock = 1_000;
    const store = fx.open({ keepRevisions: 3, compactIntervalMs: 60_000, now: () => clock });
    store.create('/k', '0');
    for (let revision = 1; revision < 10; revision += 1) store.update('/k', revision, String(revision));
    expect(store.compactedRevision()).toBe(0);
    clock += 60_000;
    store.update('/k', 10, '10');
    expect(store.compactedRevision()).toBe(8);
    await nextTurn();
    // row 8 stays: it was superseded only above the compacted revision, and lists at 8 still need it
    expect(rowCount(fx.file, '/k')).toBe(4);
  });
});

describe('lifecycle', () => {
  test('lifecycle - reopening after close keeps objects, and revisions continue past even a compacted-away tombstone', () => {
    const store = fx.open();
    store.create('/a', 'a');
    store.create('/b', 'b');
    store.delete('/b');
    store.compact(0);
    store.close();
    const reopened = fx.open();
    expect(reopened.currentRevision()).toBe(3);
    expect(reopened.compactedRevision()).toBe(3);
    expect(reopened.get('/a')).toEqual({ key: '/a', revision: 1, createRevision: 1, value: 'a' });
    expect(reopened.create('/b', 'b2').revision).toBe(4);
  });

  test('lifecycle - every call after close throws StorageClosedError, and close itself is idempotent', () => {
    const store = fx.open();
    store.create('/k', '1');
    store.close();
    store.close();
    for (const call of [
      () => store.get('/k'),
      () => store.list('/'),
      () => store.create('/x', '1'),
      () => store.update('/k', 1, '2'),
      () => store.delete('/k'),
      () => store.watch('/', 0, () => undefined),
      () => store.compact(0),
      () => store.currentRevision(),
    ]) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(StorageClosedError);
      expect(error).toMatchObject({ code: 'STORAGE_CLOSED', file: fx.file });
    }
  });

  test('open - a file that is not a database is reported as CorruptStorageError naming the file', async () => {
    await writeFile(fx.file, 'this is not a database, just text that is long enough to have a header '.repeat(20));
    const error = thrown(() => openSqliteStorage({ file: fx.file }));
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect(error).toMatchObject({ code: 'CORRUPT', file: fx.file });
    expect((error as Error).message).toContain(fx.file);
    expect((error as Error).message).toContain('restore it from a backup');
  });

  test('open - a SQLite database of another program is refused, not written to', () => {
    const other = new Database(fx.file);
    other.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
    other.close();
    expect(thrown(() => fx.open())).toMatchObject({ code: 'CORRUPT', message: expect.stringContaining('tables: users') });
    const check = new Database(fx.file, { readonly: true });
    expect(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()).toEqual(['users']);
    check.close();
  });

  test('open - a store written by a newer schema version is refused with UnsupportedSchemaError', () => {
    fx.open().close();
    const raw = new Database(fx.file);
    raw.prepare(`UPDATE meta SET value = ? WHERE key = 'schema_version'`).run(SCHEMA_VERSION + 1);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    const error = thrown(() => openSqliteStorage({ file: fx.file }));
    expect(error).toBeInstanceOf(UnsupportedSchemaError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_SCHEMA', foundVersion: SCHEMA_VERSION + 1, supportedVersion: SCHEMA_VERSION });
  });

  test('open - the store and its -wal/-shm files are readable by the owner only (0600)', async () => {
    const store = fx.open();
    store.create('/registry/pods/default/a', '{}');
    for (const path of [fx.file, `${fx.file}-wal`, `${fx.file}-shm`]) expect(((await stat(path)).mode & 0o777).toString(8)).toBe('600');
    store.close();
  });

  test('open - a new file gets the current schema version and a zero compacted revision', () => {
    fx.open().close();
    const raw = new Database(fx.file, { readonly: true });
    const meta = Object.fromEntries(raw.prepare<[], [string, number]>('SELECT key, value FROM meta').raw().all());
    raw.close();
    expect(meta).toEqual({ schema_version: SCHEMA_VERSION, compacted_revision: 0 });
  });
});

// the error classes are part of the API layer's contract: keep their codes stable
test('errors - every storage error is a StorageError with a stable code', () => {
  expect(new KeyExistsError('/k', 1)).toMatchObject({ name: 'KeyExistsError', code: 'KEY_EXISTS' });
  expect(new RevisionCompactedError('/p', 1, 2)).toBeInstanceOf(StorageError);
  expect(new StorageClosedError('/f')).toBeInstanceOf(Error);
});
