import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { KeyExistsError, RevisionConflictError } from '../../src/storage/index';
import type { StoreFixture } from './helpers';
import { exitOf, killFixtures, nextTurn, spawnFixture, storeFixture, thrown } from './helpers';

let fx: StoreFixture;
beforeEach(async () => {
  fx = await storeFixture();
});
afterEach(async () => {
  await killFixtures();
  await fx.cleanup();
});

describe('concurrency', () => {
  // a store commits a turn's writes when the turn ends (and holds the write lock until then): each
  // connection below writes in a turn of its own
  test('concurrency - two connections updating from the same revision: exactly one wins, the other gets RevisionConflictError', async () => {
    const first = fx.open();
    const second = fx.open();
    first.create('/k', 'v0');
    await nextTurn();
    const seenByFirst = first.get('/k');
    const seenBySecond = second.get('/k');
    expect(seenBySecond?.revision).toBe(seenByFirst?.revision);
    expect(second.update('/k', seenBySecond?.revision ?? 0, 'second').revision).toBe(2);
    await nextTurn();
    expect(thrown(() => first.update('/k', seenByFirst?.revision ?? 0, 'first'))).toMatchObject({
      name: 'RevisionConflictError',
      expectedRevision: 1,
      currentRevision: 2,
    });
    expect(thrown(() => first.delete('/k', 1))).toBeInstanceOf(RevisionConflictError);
    expect(first.get('/k')).toMatchObject({ revision: 2, value: 'second' });
    // both connections agree on one global revision sequence
    expect(first.create('/other', '1').revision).toBe(3);
    await nextTurn();
    expect(second.currentRevision()).toBe(3);
  });

  test('concurrency - two connections creating the same new key: the second gets KeyExistsError', async () => {
    const first = fx.open();
    const second = fx.open();
    first.create('/k', 'first');
    // until the turn ends the write is only this connection's
    expect(second.get('/k')).toBeUndefined();
    await nextTurn();
    expect(second.get('/k')?.value).toBe('first');
    expect(thrown(() => second.create('/k', 'second'))).toBeInstanceOf(KeyExistsError);
  });

  test("concurrency - with commit: 'each' a write is another connection's to see as soon as it returns", () => {
    const first = fx.open({ commit: 'each' });
    const second = fx.open({ commit: 'each' });
    first.create('/k', 'first');
    expect(thrown(() => second.create('/k', 'second'))).toBeInstanceOf(KeyExistsError);
    expect(second.update('/k', 1, 'second').revision).toBe(2);
    expect(first.get('/k')?.value).toBe('second');
  });

  test('concurrency - the (name, prev_revision) unique index refuses a second append after the same revision', async () => {
    const store = fx.open();
    store.create('/k', 'v1');
    store.update('/k', 1, 'v2');
    await nextTurn();
    const raw = new Database(fx.file);
    try {
      const append = raw.prepare(
        `INSERT INTO log (name, created, deleted, create_revision, prev_revision, value, old_value) VALUES ('/k', 0, 0, 1, ?, 'raw', 'v1')`,
      );
      expect(thrown(() => append.run(1))).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
      // a row the store's read cannot see as latest (lower id) but that already claims "after revision 2":
      // the store's own check passes, the index still refuses, and the store reports a conflict
      raw.prepare(`INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value) VALUES (-1, '/k', 0, 0, 1, 2, 'sneaky', 'v2')`).run();
    } finally {
      raw.close();
    }
    // in the turn's open batch: only the refused INSERT is undone, the write before it stays
    expect(store.create('/before', 'b').revision).toBe(3);
    expect(thrown(() => store.update('/k', 2, 'v3'))).toMatchObject({ name: 'RevisionConflictError', key: '/k', currentRevision: 2 });
    expect(store.get('/k')?.value).toBe('v2');
    await store.whenDurable();
    const reopened = fx.open();
    expect(reopened.get('/before')).toMatchObject({ revision: 3, value: 'b' });
    expect(reopened.get('/k')?.value).toBe('v2');
  });

  test('concurrency - two processes incrementing one counter by compare-and-swap lose no update', async () => {
    const setup = fx.open();
    setup.create('/counter', JSON.stringify({ n: 0 }));
    setup.close();
    const perProcess = 200;
    const children = [0, 1].map(() => spawnFixture('counter-incrementer.ts', [fx.file, '/counter', String(perProcess)]));
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
    for (const child of children) child.send('go');
    const outputs = children.map((child) => {
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      return exitOf(child).then((code) => ({ code, text }));
    });
    const results = await Promise.all(outputs);
    const reports = results.map(({ code, text }) => {
      expect(code).toBe(0);
      return JSON.parse(text) as { wins: number; conflicts: number; revisions: number[] };
    });

    const store = fx.open();
    expect(JSON.parse(store.get('/counter')?.value ?? '{}')).toEqual({ n: 2 * perProcess });
    // every acknowledged win is a distinct revision, and the rows form one chain with no fork
    const won = reports.flatMap((report) => report.revisions).sort((a, b) => a - b);
    expect(new Set(won).size).toBe(2 * perProcess);
    const raw = new Database(fx.file, { readonly: true });
    const rows = raw.prepare<[], { id: number; prev_revision: number }>(`SELECT id, prev_revision FROM log WHERE name = '/counter' ORDER BY id`).all();
    raw.close();
    expect(rows.map((row) => row.id)).toEqual([1, ...won]);
    rows.slice(1).forEach((row, index) => expect(row.prev_revision).toBe(rows[index]?.id));
  });
});
