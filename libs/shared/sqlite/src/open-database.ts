// Opening a store's SQLite file the way every kedge store needs it: private file modes, WAL with
// fsync on commit, a busy timeout, then the store's migrations.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { checkMigrations, migrate, type SchemaOptions } from './migrations';
import { PRIVATE_DIRECTORY_MODE as PRIVATE_DIR, PRIVATE_FILE_MODE as PRIVATE_FILE } from './private-files';

export interface SqliteOpenOptions extends SchemaOptions {
  /** how long a statement waits for another connection's lock (default 5000) */
  busyTimeoutMs?: number;
  /**
   * Default FULL: in WAL mode this fsyncs the WAL on every commit, so what a store acknowledged
   * survives a power cut, not only a process crash. NORMAL syncs at checkpoints only.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** enforce REFERENCES clauses (default true, as better-sqlite3 builds SQLite; SQLite's own default is off) */
  foreignKeys?: boolean;
  /** once checkpointed, the WAL is truncated to this size instead of keeping its high-water mark */
  walSizeLimitBytes?: number;
}

export interface OpenedDatabase {
  db: BetterSqlite3.Database;
  /** the schema version the file had before this open (0 for a new file) */
  previousVersion: number;
  /** the version it has now: the last migration's */
  version: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Gives the database and its WAL and shared-memory files mode 0600: they hold the node's objects and secrets. */
function restrictModes(file: string): void {
  for (const path of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(path)) chmodSync(path, PRIVATE_FILE);
}

/**
 * Opens (creating if needed) the SQLite database at `file` and migrates it to the latest schema.
 * A missing parent directory is created with mode 0700.
 * @throws SchemaTooNewError, ForeignDatabaseError, MigrationFailedError, or better-sqlite3's SqliteError
 *   (e.g. SQLITE_NOTADB for a file that is not a database); the connection is closed on any error
 */
export function openSqliteDatabase(file: string, options: SqliteOpenOptions): OpenedDatabase {
  checkMigrations(file, options.migrations);
  const dir = dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  // created here with 0600 so it never exists world-readable; SQLite gives -wal and -shm the database's mode
  closeSync(openSync(file, 'a', PRIVATE_FILE));
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const db = new Database(file, { timeout: busyTimeoutMs });
  try {
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma(`foreign_keys = ${options.foreignKeys === false ? 'OFF' : 'ON'}`);
    if (options.walSizeLimitBytes !== undefined) db.pragma(`journal_size_limit = ${options.walSizeLimitBytes}`);
    // migrate first: a file that is refused (another program's, or a newer schema) is not written to,
    // not even its journal mode; WAL is persistent, so stores opened before are already in it
    const previousVersion = migrate(db, file, options);
    db.pragma('journal_mode = WAL');
    // files written by older builds may have been created with the umask's mode
    restrictModes(file);
    return { db, previousVersion, version: options.migrations.length };
  } catch (error) {
    db.close();
    throw error;
  }
}
