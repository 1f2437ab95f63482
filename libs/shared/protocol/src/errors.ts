// The one error type the protocol layer throws, so a hub can catch exactly "the peer sent garbage"
// (count it, drop the frame, keep the link) without also swallowing its own bugs.

export type ProtocolErrorCode =
  /** the frame is bigger than the configured limit; it was not parsed */
  | 'FRAME_TOO_LARGE'
  /** the frame is neither a string nor a Uint8Array */
  | 'INVALID_FRAME'
  /** a byte frame is not valid UTF-8 */
  | 'NOT_UTF8'
  /** the frame text is not JSON */
  | 'MALFORMED_JSON'
  /** the frame is JSON but not an object */
  | 'NOT_AN_OBJECT'
  /** JSON nested deeper than the limit */
  | 'TOO_DEEP'
  /** a `__proto__` key, refused so no later merge can pollute prototypes */
  | 'FORBIDDEN_KEY'
  | 'MISSING_FIELD'
  | 'UNKNOWN_FIELD'
  | 'INVALID_FIELD'
  /** a resource key that is not `<ns>/<type>[/<name>]` (edge) or `node/<node>/...` (cloud) */
  | 'INVALID_RESOURCE'
  /** a cloud resource addressed to another node than the one expected */
  | 'NODE_MISMATCH'
  /** a caller passed a bad option (e.g. maxFrameBytes); a bug on our side, not the peer's */
  | 'INVALID_OPTION';

export interface ProtocolErrorOptions {
  /** dotted path of the field at fault, e.g. `route.operation` or `content.spec[0]` */
  field?: string;
  cause?: unknown;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  readonly field: string | undefined;

  constructor(code: ProtocolErrorCode, message: string, options: ProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

/** Short, bounded description of a value for error messages: never echoes a whole payload. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `string ${JSON.stringify(shown)}${value.length > 40 ? ` (${value.length} characters)` : ''}`;
  }
  if (typeof value === 'number') return `number ${String(value)}`;
  if (typeof value === 'boolean') return `boolean ${String(value)}`;
  return typeof value;
}
