// @kedge/sqlite: how every kedge store opens its SQLite file (private modes, WAL, fsync on commit, busy
// timeout) and upgrades it through versioned migrations, refusing files written by a newer schema; group
// commit (writes that commit close together share one fsync before they are acknowledged); and the
// private modes (0700 directories, 0600 files) of the data directories those files live in.
export { openSqliteDatabase, type OpenedDatabase, type SqliteOpenOptions } from './open-database';
export type { Migration, SchemaVersionRecord } from './migrations';
export {
  PRIVATE_DIRECTORY_MODE,
  PRIVATE_FILE_MODE,
  formatMode,
  securePrivatePaths,
  type NarrowedPath,
  type NarrowedPathLog,
  type PrivatePaths,
} from './private-files';
export { GroupCommit, type GroupCommitOptions } from './group-commit';
export { TurnTransaction } from './turn-transaction';
export {
  ForeignDatabaseError,
  GroupCommitError,
  InvalidMigrationsError,
  MigrationFailedError,
  SchemaTooNewError,
  SqliteDatabaseError,
  type SqliteDatabaseErrorCode,
} from './errors';
