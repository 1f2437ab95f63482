// The tasks of edgecore's start-up helper (edgecore-helper.ts runs them in a short-lived process; startup-helper.ts
// says why). Each imports what it needs when it runs, so a task loads only its own code (yaml, which the config
// loader needs anyway, is imported statically: a dynamic import() of a CommonJS package bundled by esbuild has no
// named exports).
import { stringify } from 'yaml';
import type { HelperRequests } from './startup-helper';

export type Tasks = { [T in keyof HelperRequests]: (request: HelperRequests[T]['request']) => Promise<HelperRequests[T]['value']> };

export const tasks: Tasks = {
  'load-config': async ({ file, logLevel }) => {
    const [{ loadConfigFile, parseConfigText }, { edgeCoreConfigSchema }] = await Promise.all([import('@kedge/config'), import('@kedge/edgecore-config')]);
    const fromFile = loadConfigFile(file, edgeCoreConfigSchema);
    return logLevel === undefined ? fromFile : parseConfigText(JSON.stringify({ ...fromFile, log: { level: logLevel } }), edgeCoreConfigSchema, `${file} + flags`);
  },
  'default-config': async () => {
    const [{ parseConfigText }, { edgeCoreConfigSchema }] = await Promise.all([import('@kedge/config'), import('@kedge/edgecore-config')]);
    return stringify(parseConfigText('nodeName: gateway-01', edgeCoreConfigSchema, 'defaults'));
  },
  'node-key-and-csr': async ({ nodeName, keyPem }) => (await import('@kedge/pki')).createNodeKeyAndCsr(nodeName, keyPem === undefined ? {} : { keyPem }),
  'pin-ca': async ({ body, pinnedHash, source }) => (await import('@kedge/pki')).pinCaCertificate(Buffer.from(body, 'base64'), pinnedHash, source),
  'metaserver-credential': async (request) => (await import('@kedge/metamanager')).ensureLocalCredential(request),
};
