// @kedge/pki-secret: the cluster CA, serving certificate and join-token ledger kept in a Kubernetes Secret.
export { PART_OF_LABEL, SecretCertificateStore, type SecretCertificateStoreOptions } from './secret-store';
export {
  DEFAULT_SECRET_NAME,
  FALLBACK_SECRET_NAMESPACE,
  SERVICE_ACCOUNT_NAMESPACE_FILE,
  defaultSecretNamespace,
} from './secret-location';
