// GroupCommit on real SQLite files: commits of one event-loop turn share an fsync, acknowledgements come
// in commit order, a refused write touches nobody else, an idle commit is synced at once, failures and
// close are reported, and a connection not set up for group commit is refused.
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { GroupCommit, GroupCommitError, openSqliteDatabase, type Migration } from '../src/index';

const dirs: string[] = [];
const opened: { db: BetterSqlite3.Database; commits: GroupCommit }[] = [];
afterEach(() => {
  for (const { db, commits } of opened.splice(0)) {
    commits.close();
    if (db.open) db.close();
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const NOTES: Migration = { version: 1, description: 'notes table', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)') };

function openNotes(synchronous: 'NORMAL' | 'FULL' = 'NORMAL') {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-group-commit-'));
  dirs.push(dir);
  const file = join(dir, 'notes.db');
  const { db } = openSqliteDatabase(file, { purpose: 'note store', migrations: [NOTES], synchronous });
  const registry = new Registry();
  const insert = db.prepare<[string]>('INSERT INTO notes (name) VALUES (?)');
  const write = db.transaction((name: string) => insert.run(name));
  return { db, file, registry, write };
}

function start(synchronous: 'NORMAL' | 'FULL' = 'NORMAL') {
  const notes = openNotes(synchronous);
  const commits = new GroupCommit({ db: notes.db, file: notes.file, store: 'notes', registry: notes.registry });
  opened.push({ db: notes.db, commits });
  /** one write in its own transaction, noted as committed; undefined when SQLite refused it */
  const write = (name: string): number | undefined => {
    try {
      notes.write(name);
    } catch {
      return undefined;
    }
    return commits.noteCommit();
  };
  return { ...notes, commits, write };
}

async function batches(registry: Registry): Promise<{ count: number; sum: number }> {
  const metric = await registry.getSingleMetric('kedge_sqlite_group_commit_batch_size')?.get();
  const value = (name: string) => metric?.values.find((v) => (v as { metricName?: string }).metricName === name)?.value ?? 0;
  return { count: value('kedge_sqlite_group_commit_batch_size_count'), sum: value('kedge_sqlite_group_commit_batch_size_sum') };
}

describe('group commit', () => {
  it('group commit - syncNow makes every commit so far durable before it returns, and a running fsync does not move the mark back', async () => {
    const { commits, registry, write } = start();
    const first = write('first') as number;
    // let the background fsync of `first` start (it runs after this turn), then sync on the event loop
    await new Promise((resolve) => setImmediate(resolve));
    commits.syncNow();
    expect(commits.durableSequence).toBe(first + 1);
    // the background fsync ends later with `first` as its mark: the durable mark must stay
    const deadline = Date.now() + 10_000;
    while ((await batches(registry)).count < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await batches(registry)).count).toBe(2);
    expect(commits.durableSequence).toBe(first + 1);
  });

  it('group commit - an idle commit is synced at once, alone', async () => {
    const { commits, registry, write } = start();
    const sequence = write('only');
    expect(sequence).toBe(1);
    expect(commits.durableSequence).toBe(0);
    await commits.whenDurable(sequence);
    expect(commits.durableSequence).toBe(1);
    expect(await batches(registry)).toEqual({ count: 1, sum: 1 });
    // nothing pending: resolves without another fsync
    await commits.whenDurable();
    expect(await batches(registry)).toEqual({ count: 1, sum: 1 });
  });

  it('group commit - commits of one event-loop turn share one fsync; those made meanwhile share the next', async () => {
    const { commits, registry, write } = start();
    for (let i = 0; i < 100; i++) write(`first-${i}`);
    const firstDone = commits.whenDurable();
    // let the first fsync start, then commit more while it runs
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < 50; i++) write(`second-${i}`);
    await firstDone;
    await commits.whenDurable();
    expect(commits.durableSequence).toBe(150);
    const { count, sum } = await batches(registry);
    expect(sum).toBe(150);
    // 100 in the first fsync; the 50 made during it need one more (two if the first ended before they were all written)
    expect(count).toBeGreaterThanOrEqual(2);
    expect(count).toBeLessThanOrEqual(3);
  });

  it('group commit - acknowledgements and durable notices come in commit order', async () => {
    const { commits, write } = start();
    const order: number[] = [];
    const notices: number[] = [];
    commits.onDurable((sequence) => notices.push(sequence));
    const waits: Promise<void>[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) {
        const sequence = write(`r${round}-${i}`) as number;
        waits.push(commits.whenDurable(sequence).then(() => void order.push(sequence)));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(waits);
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(notices.length).toBeGreaterThan(0);
    expect(notices).toEqual([...notices].sort((a, b) => a - b));
    expect(notices.at(-1)).toBe(100);
  });

  it('group commit - a write SQLite refuses fails alone; the others of its turn are committed and durable', async () => {
    const { db, commits, write } = start();
    const results = ['a', 'b', 'a', 'c'].map((name) => write(name));
    // the duplicate is refused by the UNIQUE index and never noted
    expect(results).toEqual([1, 2, undefined, 3]);
    await commits.whenDurable();
    expect(db.prepare('SELECT name FROM notes ORDER BY id').pluck().all()).toEqual(['a', 'b', 'c']);
  });

  it('group commit - refuses a connection that would fsync every commit itself', () => {
    const { db, file } = openNotes('FULL');
    try {
      expect(() => new GroupCommit({ db, file, store: 'notes' })).toThrow(/synchronous=NORMAL, found journal_mode=wal and synchronous=2/);
    } finally {
      db.close();
    }
  });

  it('group commit - a failed sync rejects its waiters and every later one (counted)', async () => {
    const { commits, file, registry, write } = start();
    write('before');
    // the -wal file is gone, so the sync cannot even open it
    unlinkSync(`${file}-wal`);
    await expect(commits.whenDurable()).rejects.toBeInstanceOf(GroupCommitError);
    write('after');
    await expect(commits.whenDurable()).rejects.toThrow(/notes\.db-wal.*reopen the store/);
    const failures = await registry.getSingleMetric('kedge_sqlite_group_commit_failures_total')?.get();
    expect(failures?.values[0]?.value).toBe(1);
  });

  it('group commit - close syncs what is pending, then refuses to promise more', async () => {
    const { commits, write } = start();
    write('pending');
    const pending = commits.whenDurable();
    commits.close();
    await pending;
    expect(commits.durableSequence).toBe(1);
    await expect(commits.whenDurable(2)).rejects.toThrow(/closed/);
  });
});
