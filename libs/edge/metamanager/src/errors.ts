// Typed errors of the metamanager: each carries a machine code so callers (the module, MetaServer,
// metrics) branch on what went wrong without parsing messages, and names the field at fault.

export type MetaManagerErrorCode =
  /** a down message from the cloud that must not be stored (bad resource, content, version, operation) */
  | 'BAD_MESSAGE'
  /** an upstream report that cannot be queued (wrong group, bad resource, content not JSON) */
  | 'BAD_REPORT'
  /** a label or field selector that does not parse or names an unsupported field */
  | 'INVALID_SELECTOR'
  /** a watch asked to resume from a local revision the change log no longer holds */
  | 'LOCAL_REVISION_COMPACTED'
  /** the store was used after close() */
  | 'STORE_CLOSED'
  /** the MetaManager was used after stop() */
  | 'MANAGER_STOPPED'
  /** a caller passed a bad option; a bug on our side, not the peer's */
  | 'INVALID_OPTION';

export class MetaManagerError extends Error {
  override readonly name: string = 'MetaManagerError';
  readonly code: MetaManagerErrorCode;
  /** dotted path of the field at fault, e.g. `content.metadata.name` */
  readonly field: string | undefined;

  constructor(code: MetaManagerErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.field = field;
  }
}

/** A down message refused before anything was written; `field` says which part of the message is wrong. */
export class BadMessageError extends MetaManagerError {
  override readonly name = 'BadMessageError';
  constructor(field: string, message: string) {
    super('BAD_MESSAGE', `${field}: ${message}`, field);
  }
}

/** A report() refused before anything was queued. */
export class BadReportError extends MetaManagerError {
  override readonly name = 'BadReportError';
  constructor(field: string, message: string) {
    super('BAD_REPORT', `${field}: ${message}`, field);
  }
}

export class InvalidSelectorError extends MetaManagerError {
  override readonly name = 'InvalidSelectorError';
  constructor(field: 'labelSelector' | 'fieldSelector', message: string) {
    super('INVALID_SELECTOR', `${field}: ${message}`, field);
  }
}

/**
 * A watch cannot resume from `requested`: the change log starts after it (compacted), or the store has
 * never reached it (the database was replaced). Either way the watcher must list again and watch from
 * the revision of that list; MetaServer turns this into a 410 Expired, like the Kubernetes API.
 */
export class LocalRevisionCompactedError extends MetaManagerError {
  override readonly name = 'LocalRevisionCompactedError';
  constructor(
    readonly requested: number,
    /** the oldest revision a watch can still resume from */
    readonly oldestResumable: number,
    readonly current: number,
  ) {
    super(
      'LOCAL_REVISION_COMPACTED',
      requested < oldestResumable
        ? `too old resource version: ${requested} (${oldestResumable}); list again and watch from the list's resourceVersion`
        : `resource version ${requested} is newer than this store's ${current} (was the edge database replaced?); list again`,
      'resourceVersion',
    );
  }
}

export class StoreClosedError extends MetaManagerError {
  override readonly name = 'StoreClosedError';
  constructor(action: string) {
    super('STORE_CLOSED', `cannot ${action}: the metamanager store is closed`);
  }
}
