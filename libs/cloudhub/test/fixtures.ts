// Test fixtures for CloudHub: in-memory PKI made with @kedge/pki, a CloudHub behind real listeners on
// 127.0.0.1 port 0, edges dialed with the real transports, metric readers, polling, and cleanup.
import { newMessage, type Message } from '@kedge/protocol';
import { createCertificateAuthority, createNodeKeyAndCsr, issueServerCertificate, signNodeCsr } from '@kedge/pki';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { dialHub, listenHub, type Connection, type ConnectionClosed, type HubListener, type TlsMaterial, type TransportKind } from '@kedge/transport';
import type { Registry } from 'prom-client';
import { CloudHub, CloudHubMetrics, type CloudHubOptions } from '../src/index';

export interface TestPki {
  /** PEM of the cluster CA */
  ca: string;
  /** hub certificate for IP 127.0.0.1 */
  server: TlsMaterial;
  /** client material for `system:node:<name>`, issued on first use and cached */
  node(name: string): Promise<TlsMaterial>;
}

/** A CA and a server certificate; node certificates are signed on demand through a real CSR. */
export async function createTestPki(): Promise<TestPki> {
  const ca = await createCertificateAuthority({ commonName: 'cloudhub test CA', validityDays: 2 });
  const server = await issueServerCertificate(ca, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'], validityDays: 2 });
  const nodes = new Map<string, Promise<TlsMaterial>>();
  const issue = async (name: string): Promise<TlsMaterial> => {
    const { keyPem, csrPem } = await createNodeKeyAndCsr(name);
    const cert = await signNodeCsr(ca, csrPem, { nodeName: name, validityDays: 2 });
    return { cert, key: keyPem, ca: ca.certPem };
  };
  return {
    ca: ca.certPem,
    server: { cert: server.certPem, key: server.keyPem, ca: ca.certPem },
    node(name) {
      let material = nodes.get(name);
      if (material === undefined) {
        material = issue(name);
        nodes.set(name, material);
      }
      return material;
    },
  };
}

/** Polls `condition` every 10 ms until it holds; fails naming `what` after a generous deadline. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Things a test started, stopped in reverse order by afterEach. */
export class Cleanup {
  private readonly tasks: (() => Promise<void> | void)[] = [];

  add(task: () => Promise<void> | void): void {
    this.tasks.push(task);
  }

  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (let task = this.tasks.pop(); task !== undefined; task = this.tasks.pop()) {
      try {
        await task();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'cleanup failed');
  }
}

/** The current value of a metric series, 0 when the series does not exist yet. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name} in the registry`);
  const { values } = await metric.get();
  const match = values.find((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted));
  return match?.value ?? 0;
}

export interface TestHub {
  hub: CloudHub;
  router: MessageRouter;
  registry: Registry;
  listeners: Partial<Record<TransportKind, HubListener>>;
  /** dials this hub as `nodeName` over `kind` (default websocket); the connection is closed by cleanup */
  dial(nodeName: string, kind?: TransportKind): Promise<EdgeEnd>;
}

/** The edge end of a link, with every event recorded from the start. */
export interface EdgeEnd {
  connection: Connection;
  messages: Message[];
  closes: ConnectionClosed[];
}

export interface StartHubOptions extends Partial<Omit<CloudHubOptions, 'router' | 'logger' | 'metrics'>> {
  transports?: TransportKind[];
}

/** A CloudHub with silent logs, its own registry and router, listening on 127.0.0.1 port 0. */
export async function startHub(pki: TestPki, cleanup: Cleanup, options: StartHubOptions = {}): Promise<TestHub> {
  const { transports = ['websocket'], ...hubOptions } = options;
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const router = new MessageRouter({ onHandlerError: () => undefined });
  const hub = new CloudHub({
    router,
    logger: createLogger({ name: 'cloudhub-test', level: 'silent' }),
    metrics: new CloudHubMetrics(registry),
    ...hubOptions,
  });
  cleanup.add(() => router.close());
  cleanup.add(() => hub.close());
  const listeners: TestHub['listeners'] = {};
  for (const kind of transports) {
    const listener = await listenHub(kind, { host: '127.0.0.1', port: 0, tls: pki.server });
    hub.attach(listener);
    listeners[kind] = listener;
  }
  return {
    hub,
    router,
    registry,
    listeners,
    async dial(nodeName, kind = 'websocket') {
      const listener = listeners[kind];
      if (listener === undefined) throw new Error(`the hub does not listen on ${kind}`);
      const scheme = kind === 'quic' ? 'quic' : 'wss';
      const connection = await dialHub(kind, {
        url: `${scheme}://127.0.0.1:${listener.port}`,
        tls: await pki.node(nodeName),
        nodeName,
        handshakeTimeoutMs: 10_000,
      });
      const end: EdgeEnd = { connection, messages: [], closes: [] };
      connection.on('message', (message) => end.messages.push(message));
      connection.on('close', (info) => end.closes.push(info));
      cleanup.add(() => connection.close('test over'));
      return end;
    },
  };
}

/** An edge-side message as edgecore would build it (edge-form resource). */
export function edgeMessage(options: { group?: string; operation?: string; resource: string; content?: unknown }): Message {
  return newMessage({
    source: 'cloudhub-test',
    group: options.group ?? 'resource',
    operation: options.operation ?? 'update',
    resource: options.resource,
    content: options.content ?? null,
  });
}
