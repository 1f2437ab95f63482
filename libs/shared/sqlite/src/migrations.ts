// Versioned schemas: an ordered list of migrations, each applied in its own write transaction together
// with the version it produces, so a crash or a failing migration leaves the file at the last complete
// version. The version lives in `PRAGMA user_version` unless the store keeps it elsewhere.
import type BetterSqlite3 from 'better-sqlite3';
import { ForeignDatabaseError, InvalidMigrationsError, MigrationFailedError, SchemaTooNewError } from './errors';

type Db = BetterSqlite3.Database;

export interface Migration {
  /** the schema version this migration produces: 1 for the first, then 2, 3, … */
  version: number;
  /** what it changes, for errors and logs, e.g. "objects, changes, tombstones and outbox tables" */
  description: string;
  /** runs inside the migration's transaction; append new migrations, never edit shipped ones */
  up(db: Db): void;
}

/** Where a store records its schema version. */
export interface SchemaVersionRecord {
  /** 0 for a file without a recorded version */
  read(db: Db): number;
  write(db: Db, version: number): void;
}

/** The default record: SQLite's `user_version` header field, which a transaction rolls back with the rest. */
export const USER_VERSION: SchemaVersionRecord = {
  read: (db) => db.pragma('user_version', { simple: true }) as number,
  write: (db, version) => void db.pragma(`user_version = ${version}`),
};

export interface SchemaOptions {
  /** what the file holds, for messages, e.g. "edge metadata store" */
  purpose: string;
  /** migrations[i].version must be i + 1 */
  migrations: readonly Migration[];
  /**
   * A file without a recorded version that holds all of `tables` was written before versions were
   * recorded and is at `version`; it is upgraded from there instead of being created again.
   */
  unversioned?: { version: number; tables: readonly string[] };
  /** default USER_VERSION */
  versionRecord?: SchemaVersionRecord;
}

/** @throws InvalidMigrationsError unless migrations[i].version is i + 1 */
export function checkMigrations(file: string, migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new InvalidMigrationsError(file, index, `has version ${migration.version}, expected ${index + 1}`);
  });
}

function userTables(db: Db): string[] {
  const names = db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all();
  return names.filter((name) => !name.startsWith('sqlite_'));
}

/** The version the file is at and whether it is recorded; refuses a file of another program. */
function currentVersion(db: Db, file: string, options: SchemaOptions, record: SchemaVersionRecord): { version: number; recorded: boolean } {
  const recorded = record.read(db);
  if (recorded !== 0) return { version: recorded, recorded: true };
  const tables = userTables(db);
  if (tables.length === 0) return { version: 0, recorded: true };
  const { unversioned } = options;
  if (unversioned !== undefined && unversioned.tables.every((table) => tables.includes(table))) {
    return { version: unversioned.version, recorded: false };
  }
  throw new ForeignDatabaseError(file, options.purpose, tables);
}

/**
 * Brings `db` (opened from `file`) to the last migration's version.
 * @returns the version the file was at before (0 for a new file)
 * @throws SchemaTooNewError, ForeignDatabaseError, MigrationFailedError, InvalidMigrationsError
 */
export function migrate(db: Db, file: string, options: SchemaOptions): number {
  const { migrations } = options;
  checkMigrations(file, migrations);
  const record = options.versionRecord ?? USER_VERSION;
  const latest = migrations.length;
  let before: number | undefined;
  // one immediate transaction per step: a second process opening the same file waits, then sees the new version
  const step = db.transaction((): boolean => {
    const { version, recorded } = currentVersion(db, file, options, record);
    before ??= version;
    if (version > latest) throw new SchemaTooNewError(file, options.purpose, version, latest);
    if (version === latest) {
      if (!recorded) record.write(db, version);
      return false;
    }
    const migration = migrations[version] as Migration;
    try {
      migration.up(db);
    } catch (error) {
      throw new MigrationFailedError(file, options.purpose, migration.version, migration.description, error);
    }
    record.write(db, migration.version);
    return true;
  });
  while (step.immediate());
  return before ?? 0;
}
