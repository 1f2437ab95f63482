// Typed errors of @kedge/pki. Every error carries a machine `code` for callers (HTTP status
// mapping, metrics) and a message that says what is wrong and what to do next.

export type JoinTokenErrorCode =
  | 'MALFORMED'
  | 'WRONG_CA'
  | 'BAD_SIGNATURE'
  | 'EXPIRED'
  | 'WRONG_NODE'
  /** a token of the old unbound format (v1): refused, a bound one must be created */
  | 'LEGACY_TOKEN'
  /** not in the cluster's token ledger: deleted, pruned after expiry, or never registered */
  | 'UNKNOWN_TOKEN'
  /** this node name already joined with another key, or every name of the token is used */
  | 'TOKEN_ALREADY_USED'
  /** the name is a node that exists and did not join with this token */
  | 'NODE_EXISTS';

export class JoinTokenError extends Error {
  override readonly name = 'JoinTokenError';
  readonly code: JoinTokenErrorCode;

  constructor(code: JoinTokenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export type CsrRejectedErrorCode = 'MALFORMED_CSR' | 'BAD_CSR_SIGNATURE' | 'SUBJECT_MISMATCH' | 'UNSUPPORTED_KEY';

/** A certificate signing request that the CA refuses to sign. */
export class CsrRejectedError extends Error {
  override readonly name = 'CsrRejectedError';
  readonly code: CsrRejectedErrorCode;

  constructor(code: CsrRejectedErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class InvalidNodeNameError extends Error {
  override readonly name = 'InvalidNodeNameError';
  readonly code = 'INVALID_NODE_NAME';
  readonly nodeName: string;

  constructor(nodeName: string) {
    super(
      `node name ${JSON.stringify(nodeName)} is not valid; use a Kubernetes node name: ` +
        'lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters',
    );
    this.nodeName = nodeName;
  }
}

/** Input that should be a PEM certificate or key but cannot be read as one. */
export class PemFormatError extends Error {
  override readonly name = 'PemFormatError';
  readonly code = 'INVALID_PEM';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type CertificateStoreErrorCode =
  | 'AUTHORITY_INCOMPLETE'
  | 'AUTHORITY_KEY_MISMATCH'
  | 'CORRUPT_FILE'
  | 'INVALID_NAME'
  /** the store's backend refused access (a Kubernetes Secret without the RBAC verb) */
  | 'ACCESS_DENIED'
  /** the store's backend cannot be reached (the Kubernetes API server) */
  | 'UNREACHABLE'
  /** other writers kept changing the store; the write was retried and given up */
  | 'WRITE_CONFLICT'
  /** the store's backend refused the request for another reason (missing namespace, invalid object) */
  | 'REJECTED';

/** Stored material that cannot be used as is; never silently replaced because edges depend on it. */
export class CertificateStoreError extends Error {
  override readonly name = 'CertificateStoreError';
  readonly code: CertificateStoreErrorCode;

  constructor(code: CertificateStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export type CaPinningErrorCode =
  /** the body is not exactly one PEM CERTIFICATE block (other blocks, other labels, trailing text, bad base64) */
  | 'NOT_ONE_CERTIFICATE'
  /** the block is not a readable X.509 certificate */
  | 'UNREADABLE_CERTIFICATE'
  /** the certificate is not the one the join token pins */
  | 'HASH_MISMATCH'
  /** the pinned certificate is not a CA (basicConstraints cA=true and keyUsage keyCertSign) */
  | 'NOT_A_CA';

/** The CA certificate served at join cannot be trusted: nothing of it may be stored or used. */
export class CaPinningError extends Error {
  override readonly name = 'CaPinningError';
  readonly code: CaPinningErrorCode;
  /** the hash the join token pins */
  readonly expectedHash: string;
  /** sha256 of the served certificate's DER, when there was exactly one readable block */
  readonly actualHash: string | undefined;

  constructor(
    code: CaPinningErrorCode,
    message: string,
    details: { expectedHash: string; actualHash?: string; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.expectedHash = details.expectedHash;
    this.actualHash = details.actualHash;
  }
}
