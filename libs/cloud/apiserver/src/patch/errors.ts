// The one error type patch functions throw. `status` is what the API layer should answer:
// 400 for a malformed patch document, 422 when a well-formed patch cannot apply to the object,
// 409 for server-side apply conflicts (as upstream).
export type PatchErrorCode =
  | 'INVALID_PATCH' // the patch document itself is malformed (400)
  | 'TEST_FAILED' // a JSON patch `test` op did not match (422)
  | 'PATH_NOT_FOUND' // an op addresses a location that does not exist (422)
  | 'CANNOT_APPLY' // the patch is well formed but does not fit the object (422)
  | 'CONFLICT'; // server-side apply: fields owned by other managers (409)

/** One server-side apply conflict: `field` is upstream's path syntax, e.g. `.spec.replicas`. */
export interface ApplyConflict {
  manager: string;
  field: string;
}

const STATUS: Record<PatchErrorCode, 400 | 409 | 422> = {
  INVALID_PATCH: 400,
  TEST_FAILED: 422,
  PATH_NOT_FOUND: 422,
  CANNOT_APPLY: 422,
  CONFLICT: 409,
};

const REASON = { 400: 'BadRequest', 409: 'Conflict', 422: 'Invalid' } as const;

export class PatchError extends Error {
  override readonly name = 'PatchError';
  readonly status: 400 | 409 | 422;
  /** the Status reason for `status` */
  readonly reason: 'BadRequest' | 'Conflict' | 'Invalid';
  readonly conflicts: readonly ApplyConflict[];

  constructor(
    readonly code: PatchErrorCode,
    /** JSON pointer of the offending location in the object or patch ('' = root) */
    readonly path: string,
    message: string,
    conflicts: readonly ApplyConflict[] = [],
  ) {
    super(message);
    this.status = STATUS[code];
    this.reason = REASON[this.status];
    this.conflicts = conflicts;
  }
}
