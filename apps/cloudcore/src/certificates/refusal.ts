// How a refused certificate request is answered: an HTTP status, a machine code for clients and
// metrics, and a message that tells the operator what to do.
import { CsrRejectedError, InvalidNodeNameError, JoinTokenError, type JoinTokenErrorCode } from '@kedge/pki';
import type { CsrRejectedErrorCode } from '@kedge/pki';

export type RefusalReason =
  | JoinTokenErrorCode
  | CsrRejectedErrorCode
  | 'MALFORMED_REQUEST'
  | 'INVALID_NODE_NAME'
  | 'NO_CREDENTIALS'
  | 'CERTIFICATE_NOT_TRUSTED'
  | 'CERTIFICATE_FOR_ANOTHER_NODE'
  | 'CERTIFICATE_REVOKED'
  | 'NODE_CHECK_FAILED'
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'REQUEST_TIMEOUT'
  | 'TLS_HANDSHAKE_FAILED'
  /** TLS or the first request's headers did not arrive within handshakeTimeoutMs */
  | 'HANDSHAKE_TIMEOUT'
  /** the source IP already holds connectionLimits.maxConnectionsPerIp connections */
  | 'PER_IP_CONNECTIONS'
  /** the source IP opens connections faster than connectionLimits.newConnectionsPerIpPerSecond */
  | 'PER_IP_RATE'
  | 'INTERNAL_ERROR';

const TOKEN_STATUS: Record<JoinTokenErrorCode, number> = {
  MALFORMED: 401,
  WRONG_CA: 401,
  BAD_SIGNATURE: 401,
  EXPIRED: 401,
  WRONG_NODE: 403,
  LEGACY_TOKEN: 401,
  UNKNOWN_TOKEN: 401,
  TOKEN_ALREADY_USED: 403,
  NODE_EXISTS: 409,
};

const CSR_STATUS: Record<CsrRejectedErrorCode, number> = {
  MALFORMED_CSR: 400,
  BAD_CSR_SIGNATURE: 400,
  UNSUPPORTED_KEY: 400,
  SUBJECT_MISMATCH: 403,
};

/** Thrown inside the request handlers; turned into a JSON error response and a 'refused' event. */
export class RequestRefusal extends Error {
  override readonly name = 'RequestRefusal';
  readonly status: number;
  readonly code: RefusalReason;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: RefusalReason,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
  }
}

// Clients that send no or bad credentials are told which scheme to use, as HTTP asks of a 401.
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="kedge"' };

/** The refusal for a known error of @kedge/pki, or undefined for anything unexpected. */
export function refusalFor(error: unknown): RequestRefusal | undefined {
  if (error instanceof RequestRefusal) return error;
  if (error instanceof JoinTokenError) {
    const status = TOKEN_STATUS[error.code];
    return new RequestRefusal(status, error.code, error.message, {
      cause: error,
      headers: status === 401 ? BEARER_CHALLENGE : {},
    });
  }
  if (error instanceof CsrRejectedError) return new RequestRefusal(CSR_STATUS[error.code], error.code, error.message, { cause: error });
  if (error instanceof InvalidNodeNameError) return new RequestRefusal(400, 'INVALID_NODE_NAME', error.message, { cause: error });
  return undefined;
}

export function unauthorized(code: RefusalReason, message: string): RequestRefusal {
  return new RequestRefusal(401, code, message, { headers: BEARER_CHALLENGE });
}
