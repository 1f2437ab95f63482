// cloudcore's certificate server: GET /ca.crt and POST /edge.crt on port 10002, and the gateway installer
// (GET /install.sh, GET /bundles/...) from cloudHub.https.bundleDir; further APIs (device methods) mount on it.
export {
  CertificateServerListenError,
  DEFAULT_CERTIFICATE_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_CERTIFICATE_PORT,
  startCertificateServer,
  type CertificateServer,
  type CertificateServerEvent,
  type CertificateServerOptions,
  type HttpsApi,
} from './certificate-server';
export { MAX_CSR_BYTES } from './edge-certificate-request';
export { nodeExistsCheck, type NodeExistsSources } from './node-exists';
export type { RefusalReason } from './refusal';
export { BUNDLE_NAME, loadGatewayBundles, type GatewayBundleFile, type GatewayBundles } from './gateway-bundles';
