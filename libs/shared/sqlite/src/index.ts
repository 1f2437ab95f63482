// @kedge/sqlite: how every kedge store opens its SQLite file (private modes, WAL, fsync on commit, busy
// timeout) and upgrades it through versioned migrations, refusing files written by a newer schema.
export { openSqliteDatabase, type OpenedDatabase, type SqliteOpenOptions } from './open-database';
export type { Migration, SchemaVersionRecord } from './migrations';
export {
  ForeignDatabaseError,
  InvalidMigrationsError,
  MigrationFailedError,
  SchemaTooNewError,
  SqliteDatabaseError,
  type SqliteDatabaseErrorCode,
} from './errors';
