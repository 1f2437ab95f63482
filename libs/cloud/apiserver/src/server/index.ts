// The API server process part: start, listen, close.
export { ADMIN_KUBECONFIG_FILE, DATABASE_FILE, startApiServer, type ApiServer, type ApiServerOptions } from './start-api-server';
export { ADMIN_TOKEN_FILE, SERVICE_ACCOUNT_KEY_FILE, type ApiServerTlsOptions } from './credentials';
