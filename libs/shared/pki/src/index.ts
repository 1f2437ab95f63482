// @kedge/pki: the cluster CA, node certificates, join tokens and where they are stored. No HTTP.
export {
  createCertificateAuthority,
  issueClientCertificate,
  issueServerCertificate,
  signNodeCsr,
  type CertificateAuthority,
  type CreateCertificateAuthorityOptions,
  type IssueClientCertificateOptions,
  type IssueServerCertificateOptions,
  type IssuedCertificate,
  type SignNodeCsrOptions,
} from './authority';
export { createNodeKeyAndCsr, type NodeKeyAndCsr } from './csr';
export {
  CaPinningError,
  CertificateStoreError,
  CsrRejectedError,
  InvalidNodeNameError,
  JoinTokenError,
  PemFormatError,
  type CaPinningErrorCode,
  type CertificateStoreErrorCode,
  type CsrRejectedErrorCode,
  type JoinTokenErrorCode,
} from './errors';
export {
  caCertificateHash,
  describeCertificate,
  isIssuedBy,
  nodeNameOf,
  ownNodeNameOf,
  type CertificateDescription,
} from './inspect';
export {
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_TOKEN_COUNT,
  describeTokenBinding,
  issueJoinToken,
  parseJoinToken,
  tokenAdmitsNode,
  verifyJoinToken,
  type IssueJoinTokenOptions,
  type JoinTokenClaims,
  type ParsedJoinToken,
  type VerifyJoinTokenOptions,
} from './join-token';
export { isValidNodeName, isValidNodePattern, nodeCommonName, nodeNameMatchesPattern } from './node-name';
export { MAX_CA_BODY_BYTES, pinCaCertificate, type PinnedCaCertificate } from './pinned-ca';
export { keyMatchesCertificate } from './pem';
export {
  REVOCATIONS_FILE,
  RevocationList,
  RevocationStore,
  normalizeSerial,
  type NodeRevocation,
  type RevocationMatch,
  type RevocationSubject,
  type SerialRevocation,
} from './revocation';
export { DEFAULT_ROTATION_FRACTION, rotationDue, rotationFraction, rotationTime } from './rotation';
export { FileCertificateStore, type CertificateStore, type StoreChange, type StoreEntry } from './store';
export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  SERVER_CERT_FILE,
  SERVER_KEY_FILE,
  loadOrCreateAuthority,
  loadOrCreateServerCertificate,
  type LoadOrCreateServerCertificateOptions,
} from './stored-authority';
export {
  JOIN_TOKENS_FILE,
  JoinTokenLedger,
  createJoinToken,
  type ClaimOptions,
  type ClaimResult,
  type JoinTokenRecord,
  type TokenUse,
} from './token-ledger';
