// Typed errors of opening a database: each names the file and the schema versions involved, and the
// message says what the operator can do about it.

export type SqliteDatabaseErrorCode =
  /** the file was written by a newer schema than this build knows */
  | 'SCHEMA_TOO_NEW'
  /** the file holds tables but no schema version, and they are not the tables of the expected store */
  | 'FOREIGN_DATABASE'
  /** a migration threw; its transaction was rolled back, the file stays at the previous version */
  | 'MIGRATION_FAILED'
  /** the migration list itself is wrong (a programming error) */
  | 'INVALID_MIGRATIONS'
  /** group commit could not make writes durable (a failed fsync, a closed store, a connection not set up for it) */
  | 'GROUP_COMMIT_FAILED';

export class SqliteDatabaseError extends Error {
  override readonly name: string = 'SqliteDatabaseError';

  constructor(
    readonly code: SqliteDatabaseErrorCode,
    /** the database file */
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class SchemaTooNewError extends SqliteDatabaseError {
  override readonly name = 'SchemaTooNewError';

  constructor(
    file: string,
    readonly purpose: string,
    readonly foundVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      'SCHEMA_TOO_NEW',
      file,
      `${file}: the ${purpose} has schema version ${foundVersion}, newer than this build supports (${supportedVersion}); ` +
        'run the newer release that wrote it, or move the file (and its -wal/-shm files) aside to start empty',
    );
  }
}

export class ForeignDatabaseError extends SqliteDatabaseError {
  override readonly name = 'ForeignDatabaseError';

  constructor(
    file: string,
    readonly purpose: string,
    /** the tables found in the file */
    readonly tables: readonly string[],
  ) {
    super(
      'FOREIGN_DATABASE',
      file,
      `${file} is a SQLite database but not a ${purpose} (tables: ${tables.join(', ')}); it was left untouched: ` +
        'point the store at another file',
    );
  }
}

export class MigrationFailedError extends SqliteDatabaseError {
  override readonly name = 'MigrationFailedError';

  constructor(
    file: string,
    readonly purpose: string,
    /** the version the failed migration would have produced */
    readonly version: number,
    readonly description: string,
    cause: unknown,
  ) {
    super(
      'MIGRATION_FAILED',
      file,
      `${file}: upgrading the ${purpose} to schema version ${version} (${description}) failed: ${(cause as Error)?.message ?? String(cause)}; ` +
        `the file was left at version ${version - 1}`,
      { cause },
    );
  }
}

export class InvalidMigrationsError extends SqliteDatabaseError {
  override readonly name = 'InvalidMigrationsError';

  constructor(
    file: string,
    /** the index in the migration list at fault */
    readonly index: number,
    detail: string,
  ) {
    super('INVALID_MIGRATIONS', file, `migrations[${index}] ${detail}`);
  }
}

export class GroupCommitError extends SqliteDatabaseError {
  override readonly name = 'GroupCommitError';

  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super('GROUP_COMMIT_FAILED', file, `${file}: ${detail}; writes not yet on disk are not acknowledged: reopen the store (restart the process)`, options);
  }
}
