// The edge database's schema versions: a file written by the edgecore before migrations were listed
// (schema version 1, with or without user_version recorded) opens with its objects, change log and
// outbox intact and is upgraded to version 2 (pods' remembered token reviews and decisions) and 3 (the outbox's
// place in line); a file
// from a newer edgecore is refused.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaTooNewError } from '@kedge/sqlite';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../src/index';
import { Cleanup, downMessage, openStore, statusReport, tempDir } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Exactly what openMetaDatabase ran before @kedge/sqlite (it then set user_version = 1). */
const SHIPPED_SCHEMA = `
CREATE TABLE IF NOT EXISTS objects (
  type TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  local_revision INTEGER NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (type, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
  local_revision INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  event TEXT NOT NULL CHECK (event IN ('ADDED', 'MODIFIED', 'DELETED')),
  resource_version INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_type ON changes (type, local_revision);
CREATE TABLE IF NOT EXISTS tombstones (
  type TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  local_revision INTEGER NOT NULL,
  PRIMARY KEY (type, namespace, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_by_revision ON tombstones (local_revision);
CREATE TABLE IF NOT EXISTS outbox (
  resource TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  message TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_by_seq ON outbox (seq);
CREATE TABLE IF NOT EXISTS store_state (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO store_state (key, value) VALUES ('compacted_through', 0), ('outbox_seq', 0);
`;

const pod = (name: string, rv: string) =>
  JSON.stringify({ metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: rv }, spec: { containers: [] } });

/** A database as the shipped edgecore left it: two pods (one updated), one deleted pod's tombstone, one queued report. */
function writeShippedDatabase(file: string, recordVersion: boolean): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SHIPPED_SCHEMA);
  if (recordVersion) db.pragma('user_version = 1');
  const change = db.prepare('INSERT INTO changes (type, namespace, name, event, resource_version, value) VALUES (?, ?, ?, ?, ?, ?)');
  change.run('pod', 'default', 'web', 'ADDED', 7, pod('web', '7'));
  change.run('pod', 'default', 'db', 'ADDED', 8, pod('db', '8'));
  change.run('pod', 'default', 'web', 'MODIFIED', 9, pod('web', '9'));
  change.run('pod', 'default', 'old', 'DELETED', 5, pod('old', '5'));
  const object = db.prepare('INSERT INTO objects (type, namespace, name, resource_version, local_revision, value) VALUES (?, ?, ?, ?, ?, ?)');
  object.run('pod', 'default', 'db', 8, 2, pod('db', '8'));
  object.run('pod', 'default', 'web', 9, 3, pod('web', '9'));
  db.prepare('INSERT INTO tombstones (type, namespace, name, resource_version, local_revision) VALUES (?, ?, ?, ?, ?)').run('pod', 'default', 'old', 5, 4);
  const report = { header: { msg_id: 'r1', timestamp: 1 }, route: { source: 'edged', group: 'resource', operation: 'update', resource: 'default/podstatus/web' }, content: { phase: 'Running' } };
  db.prepare('INSERT INTO outbox (resource, seq, message) VALUES (?, ?, ?)').run('default/podstatus/web', 1, JSON.stringify(report));
  db.prepare(`UPDATE store_state SET value = 1 WHERE key = 'outbox_seq'`).run();
  db.close();
}

describe('MetaStore schema', () => {
  for (const recordVersion of [true, false]) {
    it(`upgrade - a database written by the shipped schema (${recordVersion ? 'user_version 1' : 'no user_version'}) keeps its objects, change log, tombstones and outbox`, () => {
      const file = join(tempDir(cleanup), 'edgecore.db');
      writeShippedDatabase(file, recordVersion);
      const store = openStore(cleanup, file);

      expect(store.list('pod').map((stored) => [stored.name, stored.resourceVersion, stored.localRevision])).toEqual([
        ['db', '8', 2],
        ['web', '9', 3],
      ]);
      expect(store.localRevision).toBe(4);
      const replayed: ChangeEvent[] = [];
      store.watch('pod', undefined, 0, (event) => void replayed.push(event))();
      expect(replayed.map((event) => `${event.type} ${event.object.name}@${event.object.localRevision}`)).toEqual(['ADDED web@1', 'ADDED db@2', 'MODIFIED web@3', 'DELETED old@4']);
      expect(store.outbox.entries().map((entry) => [entry.resource, entry.seq])).toEqual([['default/podstatus/web', 1]]);
      // version 3: the queued report keeps its place in line when replaced, behind nothing queued after it
      store.outbox.enqueue(statusReport('default/podstatus/db', { phase: 'Running' }));
      store.outbox.enqueue(statusReport('default/podstatus/web', { phase: 'Failed' }));
      expect(store.outbox.entries().map((entry) => [entry.resource, entry.seq])).toEqual([
        ['default/podstatus/web', 3],
        ['default/podstatus/db', 2],
      ]);
      // the tombstone still guards against a late resend, and new changes continue the counters
      expect(store.apply(downMessage({ name: 'old', rv: '5' }))).toEqual({ applied: false, reason: 'stale' });
      expect(store.apply(downMessage({ name: 'cache', rv: '10' }))).toEqual({ applied: true, reason: 'created', localRevision: 5 });
      store.close();

      const check = new Database(file, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(3);
      check.close();
      expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    });
  }

  it('upgrade - a version 1 database gains the tables of pods\' remembered reviews, which then survive a reopen', () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    writeShippedDatabase(file, true);
    const store = openStore(cleanup, file);
    expect(store.podReviews.counts()).toEqual({ tokenReviews: 0, decisions: 0 });
    const user = { username: 'system:serviceaccount:plant:reader', groups: ['system:serviceaccounts'] };
    store.podReviews.rememberTokenReview('digest-1', { user, expiresAt: 2_000, confirmedAt: 1_000 });
    store.podReviews.rememberDecision('["key"]', user.username, { allowed: true, reason: '', decidedAt: 1_000 });
    store.close();

    const reopened = openStore(cleanup, file);
    expect(reopened.podReviews.tokenReview('digest-1')).toEqual({ user, expiresAt: 2_000, confirmedAt: 1_000 });
    expect(reopened.podReviews.decision('["key"]')).toEqual({ allowed: true, reason: '', decidedAt: 1_000 });
    expect(reopened.list('pod').map((stored) => stored.name)).toEqual(['db', 'web']);
  });

  it('too new - a database written by a newer edgecore is refused naming the file and both versions', () => {
    const file = join(tempDir(cleanup), 'edgecore.db');
    writeShippedDatabase(file, true);
    const raw = new Database(file);
    raw.pragma('user_version = 4');
    raw.close();
    let error: unknown;
    try {
      openStore(cleanup, file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({ file, foundVersion: 4, supportedVersion: 3 });
  });
});
