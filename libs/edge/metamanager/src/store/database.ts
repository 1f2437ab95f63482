// Opening the edge database (@kedge/sqlite: pragmas, modes, migrations), its schema versions, and the prepared
// statements the store uses. Everything here is synchronous: better-sqlite3 runs each statement on
// the calling thread, which is what lets a watch replay and subscribe without a gap.
import { openSqliteDatabase, type Migration } from '@kedge/sqlite';
import type BetterSqlite3 from 'better-sqlite3';

export interface ObjectRow {
  type: string;
  namespace: string;
  name: string;
  resource_version: string;
  local_revision: number;
  value: string;
}

export interface VersionRow {
  resource_version: bigint;
  value: string;
}

export interface ChangeRow {
  local_revision: number;
  type: string;
  namespace: string;
  name: string;
  event: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource_version: string;
  value: string;
}

export interface TokenReviewRow {
  user: string;
  expires_at: number;
  confirmed_at: number;
}

export interface DecisionRow {
  allowed: number;
  reason: string;
  decided_at: number;
}

export interface OutboxRow {
  resource: string;
  seq: number;
  message: string;
  attempts: number;
  last_error: string | null;
}

/** Version 1 is the schema edgecore shipped before migrations were listed; append new versions, never edit shipped ones. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'objects, change log, tombstones, outbox and store state',
    up: (db) =>
      db.exec(`
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
-- the cloud version of recently deleted objects, so a late resend of an older insert cannot
-- resurrect them; pruned with the change log
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
`),
  },
  {
    version: 2,
    description: "pods' confirmed token reviews and read decisions, kept for offline use across restarts",
    up: (db) =>
      db.exec(`
-- a token the cloud confirmed, keyed by its SHA-256 (never the token), until the token's exp
CREATE TABLE pod_token_reviews (
  token_sha256 TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  user TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  confirmed_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pod_token_reviews_by_expiry ON pod_token_reviews (expires_at);
CREATE INDEX pod_token_reviews_by_user ON pod_token_reviews (username);
-- the cloud's answer to an access review, per user and request attributes (decision_key)
CREATE TABLE pod_access_decisions (
  decision_key TEXT PRIMARY KEY,
  username TEXT NOT NULL,
  allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)),
  reason TEXT NOT NULL,
  decided_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pod_access_decisions_by_user ON pod_access_decisions (username);
CREATE INDEX pod_access_decisions_by_age ON pod_access_decisions (decided_at);
`),
  },
  {
    version: 3,
    description: 'outbox: a report that replaces a queued one keeps its place in line, so a resource reported faster than the link drains is not starved',
    up: (db) =>
      db.exec(`
-- the send order: the seq of the report that first queued this row; seq stays the version a send removes
ALTER TABLE outbox ADD COLUMN position INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET position = seq;
CREATE INDEX outbox_by_position ON outbox (position);
`),
  },
];

/**
 * Opens (or creates) the edge database and brings it to the last migration's version.
 * @throws SchemaTooNewError (from @kedge/sqlite) for a file written by a newer edgecore
 */
export function openMetaDatabase(file: string, busyTimeoutMs: number): BetterSqlite3.Database {
  return openSqliteDatabase(file, {
    purpose: 'edgecore metadata store',
    migrations: MIGRATIONS,
    // NORMAL with group commit (GroupCommit in MetaStore): a commit survives a process crash at once,
    // and one fsync of the WAL, shared by the commits made meanwhile, makes it survive a power cut.
    // An ACK to the cloud and a report's send wait for that fsync (the cloud, having seen an ACK,
    // never resends); pod review writes sync at once (syncNow).
    synchronous: 'NORMAL',
    busyTimeoutMs,
    unversioned: { version: 1, tables: ['objects', 'changes', 'tombstones', 'outbox', 'store_state'] },
  }).db;
}

export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: BetterSqlite3.Database) {
  return {
    // integers as BigInt for this one: cloud versions are compared as 64-bit integers
    version: db.prepare<[string, string, string], VersionRow>(
      'SELECT resource_version, value FROM objects WHERE type = ? AND namespace = ? AND name = ?',
    ).safeIntegers(true),
    tombstone: db.prepare<[string, string, string], { resource_version: bigint }>(
      'SELECT resource_version FROM tombstones WHERE type = ? AND namespace = ? AND name = ?',
    ).safeIntegers(true),
    get: db.prepare<[string, string, string], ObjectRow>(
      `SELECT type, namespace, name, CAST(resource_version AS TEXT) AS resource_version, local_revision, value
       FROM objects WHERE type = ? AND namespace = ? AND name = ?`,
    ),
    listAll: db.prepare<[string], ObjectRow>(
      `SELECT type, namespace, name, CAST(resource_version AS TEXT) AS resource_version, local_revision, value
       FROM objects WHERE type = ? ORDER BY namespace, name`,
    ),
    listNamespace: db.prepare<[string, string], ObjectRow>(
      `SELECT type, namespace, name, CAST(resource_version AS TEXT) AS resource_version, local_revision, value
       FROM objects WHERE type = ? AND namespace = ? ORDER BY name`,
    ),
    countByType: db.prepare<[], { type: string; count: number }>('SELECT type, COUNT(*) AS count FROM objects GROUP BY type'),
    inventory: db
      .prepare<[], { type: string; namespace: string; name: string; resource_version: number | bigint }>(
        'SELECT type, namespace, name, resource_version FROM objects ORDER BY type, namespace, name',
      )
      .safeIntegers(true),
    appendChange: db.prepare<[string, string, string, string, bigint, string]>(
      'INSERT INTO changes (type, namespace, name, event, resource_version, value) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    upsert: db.prepare<[string, string, string, bigint, number, string]>(
      `INSERT INTO objects (type, namespace, name, resource_version, local_revision, value) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (type, namespace, name) DO UPDATE SET
         resource_version = excluded.resource_version, local_revision = excluded.local_revision, value = excluded.value`,
    ),
    remove: db.prepare<[string, string, string]>('DELETE FROM objects WHERE type = ? AND namespace = ? AND name = ?'),
    putTombstone: db.prepare<[string, string, string, bigint, number]>(
      `INSERT INTO tombstones (type, namespace, name, resource_version, local_revision) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (type, namespace, name) DO UPDATE SET
         resource_version = MAX(resource_version, excluded.resource_version), local_revision = excluded.local_revision`,
    ),
    dropTombstone: db.prepare<[string, string, string]>('DELETE FROM tombstones WHERE type = ? AND namespace = ? AND name = ?'),
    changesAfter: db.prepare<[number, string], ChangeRow>(
      `SELECT local_revision, type, namespace, name, event, CAST(resource_version AS TEXT) AS resource_version, value
       FROM changes WHERE local_revision > ? AND type = ? ORDER BY local_revision`,
    ),
    currentRevision: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
    readState: db.prepare<[string], { value: number }>('SELECT value FROM store_state WHERE key = ?'),
    writeState: db.prepare<[number, string]>('UPDATE store_state SET value = ? WHERE key = ?'),
    compactChanges: db.prepare<[number]>('DELETE FROM changes WHERE local_revision <= ?'),
    compactTombstones: db.prepare<[number]>('DELETE FROM tombstones WHERE local_revision <= ?'),
    nextOutboxSeq: db.prepare<[], { value: number }>("UPDATE store_state SET value = value + 1 WHERE key = 'outbox_seq' RETURNING value"),
    // a replacement takes a new seq (its version) and keeps the row's position (its place in line)
    putOutbox: db.prepare<[string, number, number, string]>(
      `INSERT INTO outbox (resource, seq, position, message, attempts, last_error) VALUES (?, ?, ?, ?, 0, NULL)
       ON CONFLICT (resource) DO UPDATE SET seq = excluded.seq, message = excluded.message, attempts = 0, last_error = NULL`,
    ),
    // LIMIT -1 means no limit in SQLite
    outboxInOrder: db.prepare<[number], OutboxRow>('SELECT resource, seq, message, attempts, last_error FROM outbox ORDER BY position LIMIT ?'),
    // the sender's view: the order without the message texts, which it reads only for what it sends
    outboxHeads: db.prepare<[number], { resource: string; seq: number; attempts: number }>('SELECT resource, seq, attempts FROM outbox ORDER BY position LIMIT ?'),
    outboxMessage: db.prepare<[string, number], { message: string }>('SELECT message FROM outbox WHERE resource = ? AND seq = ?'),
    outboxDepth: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM outbox'),
    removeOutbox: db.prepare<[string, number]>('DELETE FROM outbox WHERE resource = ? AND seq = ?'),
    requeueOutbox: db.prepare<[number, string]>('UPDATE outbox SET position = ? WHERE resource = ?'),
    failOutbox: db.prepare<[string, string, number]>('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE resource = ? AND seq = ?'),
    putTokenReview: db.prepare<[string, string, string, number, number]>(
      `INSERT INTO pod_token_reviews (token_sha256, username, user, expires_at, confirmed_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (token_sha256) DO UPDATE SET
         username = excluded.username, user = excluded.user, expires_at = excluded.expires_at, confirmed_at = excluded.confirmed_at`,
    ),
    tokenReview: db.prepare<[string], TokenReviewRow>('SELECT user, expires_at, confirmed_at FROM pod_token_reviews WHERE token_sha256 = ?'),
    dropTokenReview: db.prepare<[string]>('DELETE FROM pod_token_reviews WHERE token_sha256 = ?'),
    pruneExpiredTokenReviews: db.prepare<[number]>('DELETE FROM pod_token_reviews WHERE expires_at <= ?'),
    // LIMIT -1 OFFSET n: every row after the newest n
    pruneOldestTokenReviews: db.prepare<[number]>(
      'DELETE FROM pod_token_reviews WHERE token_sha256 IN (SELECT token_sha256 FROM pod_token_reviews ORDER BY confirmed_at DESC LIMIT -1 OFFSET ?)',
    ),
    putDecision: db.prepare<[string, string, number, string, number]>(
      `INSERT INTO pod_access_decisions (decision_key, username, allowed, reason, decided_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (decision_key) DO UPDATE SET
         username = excluded.username, allowed = excluded.allowed, reason = excluded.reason, decided_at = excluded.decided_at`,
    ),
    decision: db.prepare<[string], DecisionRow>('SELECT allowed, reason, decided_at FROM pod_access_decisions WHERE decision_key = ?'),
    // a decision is only used for a user with a confirmed token: without one, nobody can be that user offline
    pruneOrphanDecisions: db.prepare<[]>('DELETE FROM pod_access_decisions WHERE username NOT IN (SELECT username FROM pod_token_reviews)'),
    pruneOldestDecisions: db.prepare<[number]>(
      'DELETE FROM pod_access_decisions WHERE decision_key IN (SELECT decision_key FROM pod_access_decisions ORDER BY decided_at DESC LIMIT -1 OFFSET ?)',
    ),
    countTokenReviews: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM pod_token_reviews'),
    countDecisions: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM pod_access_decisions'),
  };
}
