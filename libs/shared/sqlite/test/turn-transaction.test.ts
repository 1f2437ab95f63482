// TurnTransaction on a real SQLite file: the writes of one turn are one transaction committed when the turn
// ends, with one shared durability promise; a write SQLite refuses rolls the whole batch back and rejects it;
// flush() commits before a write of the store's own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit, TurnTransaction, openSqliteDatabase, type Migration } from '../src/index';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const NOTES: Migration = { version: 1, description: 'notes table', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)') };

function start() {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-turn-transaction-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'notes.db');
  const { db } = openSqliteDatabase(file, { purpose: 'note store', migrations: [NOTES], synchronous: 'NORMAL' });
  const registry = new Registry();
  const commits = new GroupCommit({ db, file, store: 'notes', registry });
  cleanups.push(() => {
    commits.close();
    if (db.open) db.close();
  });
  let rollbacks = 0;
  const batch = new TurnTransaction(db, commits, () => void (rollbacks += 1));
  const insert = db.prepare<[string]>('INSERT INTO notes (name) VALUES (?)');
  const names = (): string[] => {
    // another connection sees only what is committed
    const reader = new Database(file, { readonly: true });
    try {
      return (reader.prepare('SELECT name FROM notes ORDER BY id').all() as { name: string }[]).map((row) => row.name);
    } finally {
      reader.close();
    }
  };
  return { db, commits, batch, insert, names, rollbacks: () => rollbacks, registry };
}

describe('turn transaction', () => {
  it('turn - the writes of one turn commit together when it ends, share one durability promise and one fsync', async () => {
    const { batch, insert, names, commits } = start();
    expect(batch.whenDurable()).toBeUndefined();
    batch.write(() => insert.run('a'));
    batch.write(() => insert.run('b'));
    const first = batch.whenDurable();
    expect(batch.whenDurable()).toBe(first);
    // not committed yet: another connection does not see them
    expect(names()).toEqual([]);
    await first;
    expect(names()).toEqual(['a', 'b']);
    expect(commits.durableSequence).toBe(1);
    expect(batch.whenDurable()).toBeUndefined();
  });

  it('turn - a write SQLite refuses rolls back the whole batch, rejects its promise, and the next turn works', async () => {
    const { batch, insert, names, rollbacks } = start();
    batch.write(() => insert.run('a'));
    await batch.whenDurable();
    batch.write(() => insert.run('b'));
    const durable = batch.whenDurable();
    // UNIQUE violation: a real refusal in the middle of the batch
    expect(() => batch.write(() => insert.run('a'))).toThrow(/UNIQUE/);
    await expect(durable).rejects.toThrow(/UNIQUE/);
    expect(rollbacks()).toBe(1);
    expect(names()).toEqual(['a']);
    batch.write(() => insert.run('c'));
    await batch.whenDurable();
    expect(names()).toEqual(['a', 'c']);
  });

  it('turn - flush commits the open batch at once, before a write that is a transaction of its own', async () => {
    const { db, batch, insert, names, commits } = start();
    batch.write(() => insert.run('a'));
    const durable = batch.whenDurable();
    batch.flush();
    expect(names()).toEqual(['a']);
    // now a transaction of the store's own is a real one, not a savepoint inside the batch
    db.transaction(() => insert.run('b'))();
    commits.noteCommit();
    expect(names()).toEqual(['a', 'b']);
    await durable;
    await commits.whenDurable();
    expect(commits.durableSequence).toBe(2);
  });
});
