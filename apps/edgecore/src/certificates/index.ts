// edgecore's certificate bootstrap: join with a token once, then renew with the certificate itself.
export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  X509_IN_PROCESS,
  bootstrapNodeCertificate,
  type BootstrapNodeCertificateOptions,
  type X509Steps,
} from './bootstrap';
export {
  CaHashMismatchError,
  CertificateServerError,
  NodeIdentityError,
  type CertificateServerErrorCode,
  type NodeIdentityErrorCode,
} from './errors';
export { CA_FILE, NODE_CERT_FILE, NODE_KEY_FILE, type NodeIdentity } from './node-identity';
export {
  rotateNodeCertificate,
  scheduleRotation,
  type RotateNodeCertificateOptions,
  type RotationSchedule,
  type ScheduleRotationOptions,
} from './rotation';
