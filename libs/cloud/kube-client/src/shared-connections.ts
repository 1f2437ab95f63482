// client-node 1.4 makes a new https.Agent for every typed API call (KubeConfig.applySecurityAuthentication),
// so every read, create and patch opens a new TCP + TLS connection: a fresh SecureContext (the PEM key and
// certificates parsed again), a full handshake, the server certificate checked, and the same on the API
// server's side, which for the embedded API server is this very process. A Node registration of an edge
// (read, create, status patch) cost three handshakes each side. `shareApiConnections` makes every typed
// client of one KubeConfig use one keep-alive agent per set of TLS credentials, as client-go's shared
// transport does: connections stay open between requests and are reused.
import { Agent, type AgentOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** the TLS options client-node puts on its agent; an agent is shared only by calls with the same ones */
const TLS_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

export interface SharedConnectionsOptions {
  /** idle connections kept open per agent (default 32); more are opened under load and closed when idle */
  maxFreeSockets?: number;
}

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type TlsOptions = Partial<Record<(typeof TLS_OPTIONS)[number], unknown>>;

/** client-node reads the kubeconfig's certificates into new Buffers for every call: compare their bytes */
function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

const sameTls = (a: TlsOptions, b: TlsOptions): boolean => TLS_OPTIONS.every((name) => sameValue(a[name], b[name]));

/**
 * Makes the typed API clients of `kubeConfig` (those from `makeApiClient`, made before or after) share a
 * keep-alive https agent. A proxy agent, a plain-http agent or changed credentials (an exec plugin's new
 * client certificate) are left to client-node: those calls get its per-call agent, as before.
 * @returns the same KubeConfig
 */
export function shareApiConnections(kubeConfig: KubeConfig, options: SharedConnectionsOptions = {}): KubeConfig {
  const applyPerCall = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  let shared: { tls: TlsOptions; agent: Agent } | undefined;
  kubeConfig.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await applyPerCall(context);
    const perCall = context.getAgent();
    // only client-node's own https agent: proxy agents subclass it with their own connection logic
    if (perCall === undefined || perCall.constructor !== Agent) return;
    const tls = (perCall as Agent & { options: TlsOptions }).options;
    if (shared === undefined || !sameTls(shared.tls, tls)) {
      shared?.agent.destroy();
      const picked: TlsOptions = {};
      for (const name of TLS_OPTIONS) if (tls[name] !== undefined) picked[name] = tls[name];
      // keep-alive sockets are closed by Node when idle past the server's Keep-Alive hint
      shared = { tls, agent: new Agent({ ...(picked as AgentOptions), keepAlive: true, maxFreeSockets: options.maxFreeSockets ?? 32, scheduling: 'lifo' }) };
    }
    context.setAgent(shared.agent);
  };
  return kubeConfig;
}
