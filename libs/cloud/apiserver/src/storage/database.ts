// The SQLite side of the store: opening the file through @kedge/sqlite (pragmas, modes, migrations), the prepared
// statements, row shapes, and the mapping from SQLite errors and rows to storage errors and events.
import { ForeignDatabaseError, openSqliteDatabase, SchemaTooNewError } from '@kedge/sqlite';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { CorruptStorageError, UnsupportedSchemaError } from './errors';
import type { StorageEvent } from './object-storage';
import { metaVersionRecord, MIGRATIONS } from './schema';

export interface LatestRow {
  id: number;
  create_revision: number;
  deleted: number;
  value: string;
}

interface LogRow {
  id: number;
  name: string;
  created: number;
  deleted: number;
  value: string;
  old_value: string | null;
}

interface ListRow {
  id: number;
  name: string;
  create_revision: number;
  value: string;
}

export interface NewRow {
  id: number;
  name: string;
  created: 0 | 1;
  deleted: 0 | 1;
  create_revision: number;
  prev_revision: number;
  value: string;
  old_value: string | null;
}

// once checkpointed, the WAL is truncated back to this size instead of keeping its high-water mark
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

export function eventOf(row: LogRow): StorageEvent {
  if (row.created === 1) return { type: 'ADDED', key: row.name, revision: row.id, value: row.value };
  const type = row.deleted === 1 ? 'DELETED' : 'MODIFIED';
  const event: StorageEvent = { type, key: row.name, revision: row.id, value: row.value };
  if (row.old_value !== null) event.prevValue = row.old_value;
  return event;
}

export function sqliteCode(error: unknown): string | undefined {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

const CORRUPTION_CODES = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

export function translate(error: unknown, file: string): unknown {
  if (error instanceof SchemaTooNewError) return new UnsupportedSchemaError(file, error.foundVersion, error.supportedVersion);
  if (error instanceof ForeignDatabaseError) return new CorruptStorageError(file, `is a SQLite database but not a kedge store (tables: ${error.tables.join(', ')})`, { cause: error });
  const code = sqliteCode(error);
  if (code !== undefined && CORRUPTION_CODES.has(code)) {
    return new CorruptStorageError(file, `is not a SQLite database or is damaged (${code})`, { cause: error });
  }
  return error;
}

export type Statements = ReturnType<typeof prepareStatements>;

export function openDatabase(file: string, busyTimeoutMs: number): { db: BetterSqlite3.Database; sql: Statements } {
  let db: BetterSqlite3.Database | undefined;
  try {
    ({ db } = openSqliteDatabase(file, {
      purpose: 'kedge API server store',
      migrations: MIGRATIONS,
      versionRecord: metaVersionRecord(file),
      // NORMAL: a commit writes its WAL frames without an fsync; GroupCommit then fsyncs the WAL once for
      // every commit that queued up, and the store acknowledges a write (HTTP response, watch event) only
      // after that fsync. So a power cut cannot drop an acknowledged write, and concurrent writes share
      // the cost of one fsync (see @kedge/sqlite's GroupCommit).
      synchronous: 'NORMAL',
      busyTimeoutMs,
      walSizeLimitBytes: WAL_SIZE_LIMIT_BYTES,
    }));
    return { db, sql: prepareStatements(db) };
  } catch (error) {
    db?.close();
    throw translate(error, file);
  }
}

function prepareStatements(db: BetterSqlite3.Database) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    // changes when another connection commits to the file (never for this connection's own commits)
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
    sequence: db.prepare<[], number>(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`).pluck(),
    meta: db.prepare<[string], number>('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare<[number, string]>('UPDATE meta SET value = ? WHERE key = ?'),
    latest: db.prepare<[string], LatestRow>('SELECT id, create_revision, deleted, value FROM log WHERE name = ? ORDER BY id DESC LIMIT 1'),
    insert: db.prepare<[NewRow]>(
      `INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value)
       VALUES (@id, @name, @created, @deleted, @create_revision, @prev_revision, @value, @old_value)`,
    ),
    // walks the (name, id) index in key order and stops at the limit; the subquery finds each key's row at `revision`
    list: db.prepare<[{ lo: string; hi: string; after: string; revision: number; limit: number }], ListRow>(
      `SELECT l.id, l.name, l.create_revision, l.value FROM log AS l
       WHERE l.name >= @lo AND l.name < @hi AND l.name > @after
         AND l.id = (SELECT MAX(m.id) FROM log AS m WHERE m.name = l.name AND m.id <= @revision)
         AND l.deleted = 0
       ORDER BY l.name LIMIT @limit`,
    ),
    // '+name' keeps the planner on the revision range of the primary key rather than the name index
    events: db.prepare<[{ after: number; upto: number; lo: string; hi: string; limit: number }], LogRow>(
      `SELECT id, name, created, deleted, value, old_value FROM log
       WHERE id > @after AND id <= @upto AND +name >= @lo AND +name < @hi
       ORDER BY id LIMIT @limit`,
    ),
    deleteSuperseded: db.prepare<[{ from: number; upto: number }]>(
      'DELETE FROM log WHERE id IN (SELECT prev_revision FROM log WHERE id > @from AND id <= @upto AND prev_revision != 0)',
    ),
    deleteTombstones: db.prepare<[{ from: number; upto: number }]>('DELETE FROM log WHERE id > @from AND id <= @upto AND deleted = 1'),
  };
}
