// Typed errors of the edge's certificate bootstrap; each message says what to do next.

/** The CA served by the cloud is not the one the join token pins: the edge refuses to join. */
export class CaHashMismatchError extends Error {
  override readonly name = 'CaHashMismatchError';
  readonly code = 'CA_HASH_MISMATCH';
  readonly expectedHash: string;
  readonly actualHash: string;

  constructor(serverUrl: string, expectedHash: string, actualHash: string) {
    super(
      `refusing to join: the CA certificate served by ${serverUrl} has sha256 ${actualHash}, but the join token pins ` +
        `${expectedHash}. The token is for another cluster, or someone is intercepting the connection; the token was ` +
        'not sent. Check the server address, or get a token from this cluster with `kedgeadm token`',
    );
    this.expectedHash = expectedHash;
    this.actualHash = actualHash;
  }
}

export type CertificateServerErrorCode =
  | 'INVALID_SERVER_URL'
  | 'UNREACHABLE'
  | 'TIMEOUT'
  | 'SERVER_NOT_TRUSTED'
  | 'REFUSED'
  | 'BAD_RESPONSE';

/** Talking to the cloud's certificate server failed, or it said no. */
export class CertificateServerError extends Error {
  override readonly name = 'CertificateServerError';
  readonly code: CertificateServerErrorCode;
  /** HTTP status when the server answered */
  readonly status: number | undefined;
  /** the server's machine code (e.g. EXPIRED, REUSED_FOR_ANOTHER_NODE) when it refused */
  readonly serverCode: string | undefined;

  constructor(
    code: CertificateServerErrorCode,
    message: string,
    details: { status?: number; serverCode?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.serverCode = details.serverCode;
  }
}

export type NodeIdentityErrorCode = 'NOT_BOOTSTRAPPED' | 'CERTIFICATE_EXPIRED' | 'NODE_NAME_MISMATCH';

/** The node's stored certificate cannot be used for what was asked. */
export class NodeIdentityError extends Error {
  override readonly name = 'NodeIdentityError';
  readonly code: NodeIdentityErrorCode;

  constructor(code: NodeIdentityErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
