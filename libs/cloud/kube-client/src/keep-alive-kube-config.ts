// @kubernetes/client-node 1.x builds a new https.Agent for every API request (KubeConfig.applySecurityAuthentication),
// so every request opens a new TCP connection and makes a full TLS handshake, on both ends when the API server is the
// embedded one in the same process. A controller that writes a pod status or a DeviceStatus per edge report paid that
// per write. This KubeConfig hands every request of the typed API clients one keep-alive agent instead, made with the
// TLS options of the agent client-node built (CA, client certificate and key, server name, verification), and makes a
// new one when those options change (a kubeconfig loaded again, a certificate file rewritten). Headers (bearer tokens,
// read again for each request) are untouched. Watches keep client-node's own agent: they hold their connection anyway.
import { Agent } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/** The TLS options that decide which server and identity a connection is for: an agent is reused only while they hold. */
const IDENTITY_OPTIONS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/** How long a pooled connection may stay idle when the server sends no keep-alive hint. */
const IDLE_SOCKET_MS = 30_000;

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  return a === b;
}

export class KeepAliveKubeConfig extends KubeConfig {
  #agent: Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const built = context.getAgent();
    // a proxy or plain-HTTP agent is left as client-node made it
    if (!(built instanceof Agent) || built.constructor !== Agent) return;
    context.setAgent(this.#reusable(built));
  }

  /** The shared agent, made again when the TLS identity options differ from the ones it was made with. */
  #reusable(built: Agent): Agent {
    const wanted = built.options as Record<string, unknown>;
    const current = this.#agent;
    if (current !== undefined && IDENTITY_OPTIONS.every((key) => sameValue((current.options as Record<string, unknown>)[key], wanted[key]))) return current;
    current?.destroy();
    // with a timeout set, Node's agent closes an idle pooled socket 1 s before the server's `Keep-Alive: timeout=N`
    // hint (5 s on a Node server), so a request is not written into a connection the server is closing; without a
    // hint an idle socket goes after IDLE_SOCKET_MS. A request in progress only gets a 'timeout' event nobody acts on.
    this.#agent = new Agent({ ...built.options, keepAlive: true, timeout: IDLE_SOCKET_MS });
    return this.#agent;
  }

  /** Closes the pooled connections (on shutdown). */
  closeConnections(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }
}
