// Typed storage errors. The API layer maps `code` to a Kubernetes status (KEY_EXISTS → 409 AlreadyExists,
// KEY_NOT_FOUND → 404, REVISION_CONFLICT → 409 Conflict, REVISION_COMPACTED → 410 Gone / Expired,
// REVISION_TOO_NEW → 504 "Too large resource version"); messages say what is wrong and what to do next.

export type StorageErrorCode =
  | 'KEY_EXISTS'
  | 'KEY_NOT_FOUND'
  | 'REVISION_CONFLICT'
  | 'REVISION_COMPACTED'
  | 'REVISION_TOO_NEW'
  | 'INVALID_ARGUMENT'
  | 'STORAGE_CLOSED'
  | 'UNSUPPORTED_SCHEMA'
  | 'CORRUPT';

export abstract class StorageError extends Error {
  abstract override readonly name: string;
  abstract readonly code: StorageErrorCode;
}

export class KeyExistsError extends StorageError {
  override readonly name = 'KeyExistsError';
  readonly code = 'KEY_EXISTS';

  constructor(
    readonly key: string,
    /** revision of the live object that holds the key */
    readonly currentRevision: number,
  ) {
    super(`${key} already exists (revision ${currentRevision}); update it with that revision or delete it first`);
  }
}

export class KeyNotFoundError extends StorageError {
  override readonly name = 'KeyNotFoundError';
  readonly code = 'KEY_NOT_FOUND';

  constructor(readonly key: string) {
    super(`${key} does not exist or was deleted; create it instead`);
  }
}

export class RevisionConflictError extends StorageError {
  override readonly name = 'RevisionConflictError';
  readonly code = 'REVISION_CONFLICT';

  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    /** the revision the object has now: re-read it, re-apply the change and retry with this revision */
    readonly currentRevision: number,
  ) {
    super(
      `${key} was modified: expected revision ${expectedRevision} but it is at ${currentRevision}; ` +
        'read the latest version and retry the change against it',
    );
  }
}

export class RevisionCompactedError extends StorageError {
  override readonly name = 'RevisionCompactedError';
  readonly code = 'REVISION_COMPACTED';

  constructor(
    /** the key or prefix that was listed or watched */
    readonly key: string,
    readonly requestedRevision: number,
    readonly compactedRevision: number,
  ) {
    super(
      `revision ${requestedRevision} for ${key} is older than the compacted revision ${compactedRevision}; ` +
        'list again without a revision and watch from the revision that list returns',
    );
  }
}

export class RevisionTooNewError extends StorageError {
  override readonly name = 'RevisionTooNewError';
  readonly code = 'REVISION_TOO_NEW';

  constructor(
    readonly key: string,
    readonly requestedRevision: number,
    readonly currentRevision: number,
  ) {
    super(
      `revision ${requestedRevision} for ${key} is newer than the current revision ${currentRevision}; ` +
        'list at a revision this store has returned, or without one',
    );
  }
}

export class InvalidStorageArgumentError extends StorageError {
  override readonly name = 'InvalidStorageArgumentError';
  readonly code = 'INVALID_ARGUMENT';

  constructor(
    /** the key or prefix the call was about ('' when the argument is not key-specific) */
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

export class StorageClosedError extends StorageError {
  override readonly name = 'StorageClosedError';
  readonly code = 'STORAGE_CLOSED';

  constructor(
    readonly file: string,
    /** the key the failed call was about, if any */
    readonly key?: string,
  ) {
    super(`storage ${file} is closed${key === undefined ? '' : ` (call for ${key})`}; open it again with openSqliteStorage`);
  }
}

export class UnsupportedSchemaError extends StorageError {
  override readonly name = 'UnsupportedSchemaError';
  readonly code = 'UNSUPPORTED_SCHEMA';

  constructor(
    readonly file: string,
    readonly foundVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `${file} has storage schema version ${foundVersion} but this build supports up to ${supportedVersion}; ` +
        'run the newer cloudcore that wrote it, or restore a backup made by this version',
    );
  }
}

export class CorruptStorageError extends StorageError {
  override readonly name = 'CorruptStorageError';
  readonly code = 'CORRUPT';

  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${file} ${detail}; stop cloudcore, move the file (and its -wal/-shm files) aside and restore it from a backup, ` +
        'or start with an empty store',
      options,
    );
  }
}
