// Test fixtures for EdgeHub: in-memory PKI made with @kedge/pki, a bare hub listener standing in for
// cloudcore (edge code may not import cloud code, so no CloudHub here), polling, metrics and cleanup.
import type { Message } from '@kedge/protocol';
import { createCertificateAuthority, createNodeKeyAndCsr, issueServerCertificate, signNodeCsr } from '@kedge/pki';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { dialHub, listenHub, type Connection, type ConnectionClosed, type HubListener, type TlsMaterial, type TransportKind } from '@kedge/transport';
import type { Registry } from 'prom-client';
import { EdgeHub, EdgeHubMetrics, type EdgeHubOptions } from '../src/index';

export interface TestPki {
  ca: string;
  /** hub certificate for IP 127.0.0.1 */
  server: TlsMaterial;
  /** client material for `system:node:<name>`, issued on first use and cached */
  node(name: string): Promise<TlsMaterial>;
}

export async function createTestPki(): Promise<TestPki> {
  const ca = await createCertificateAuthority({ commonName: 'edgehub test CA', validityDays: 2 });
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

export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name} in the registry`);
  const { values } = await metric.get();
  const match = values.find((value) => Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted));
  return match?.value ?? 0;
}

/** One link as the cloud side sees it, every event recorded from the start. */
export interface CloudLink {
  connection: Connection;
  messages: Message[];
  closes: ConnectionClosed[];
}

/** A bare hub listener standing in for cloudcore; it can be stopped and started again on its port. */
export class FakeCloud {
  readonly links: CloudLink[] = [];
  private listener: HubListener | undefined;
  private boundPort = 0;
  /** called for every message from an edge, e.g. to answer it */
  onMessage: ((link: CloudLink, message: Message) => void) | undefined;

  constructor(
    private readonly pki: TestPki,
    readonly kind: TransportKind = 'websocket',
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `${this.kind === 'quic' ? 'quic' : 'wss'}://127.0.0.1:${this.boundPort}`;
  }

  /** the newest link */
  get latest(): CloudLink | undefined {
    return this.links.at(-1);
  }

  /** Listens on port 0 the first time, then on the same port again. */
  async start(): Promise<void> {
    const listener = await listenHub(this.kind, { host: '127.0.0.1', port: this.boundPort, tls: this.pki.server });
    this.boundPort = listener.port;
    listener.onConnection((connection) => {
      const link: CloudLink = { connection, messages: [], closes: [] };
      connection.on('message', (message) => {
        link.messages.push(message);
        this.onMessage?.(link, message);
      });
      connection.on('close', (info) => link.closes.push(info));
      this.links.push(link);
    });
    this.listener = listener;
  }

  /** Closes the listener and every link it holds. */
  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = undefined;
  }
}

export interface TestEdge {
  hub: EdgeHub;
  router: MessageRouter;
  registry: Registry;
  /** how many times the hub called its dial function */
  dials: () => number;
}

/** An EdgeHub for `nodeName` dialing `cloud`, with silent logs and fast backoff; stopped by cleanup. */
export async function createEdge(
  pki: TestPki,
  cloud: FakeCloud,
  cleanup: Cleanup,
  nodeName: string,
  options: Partial<Pick<EdgeHubOptions, 'heartbeatMs' | 'backoff'>> = {},
): Promise<TestEdge> {
  const tls = await pki.node(nodeName);
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const router = new MessageRouter({ onHandlerError: () => undefined });
  let dials = 0;
  const hub = new EdgeHub({
    nodeName,
    dial: () => {
      dials += 1;
      return dialHub(cloud.kind, { url: cloud.url, tls, nodeName, handshakeTimeoutMs: 10_000 });
    },
    router,
    logger: createLogger({ name: 'edgehub-test', level: 'silent' }),
    metrics: new EdgeHubMetrics(registry),
    heartbeatMs: options.heartbeatMs ?? 60_000,
    backoff: options.backoff ?? { initialDelayMs: 20, maxDelayMs: 200, jitter: 0.5 },
  });
  cleanup.add(() => router.close());
  cleanup.add(() => hub.stop());
  return { hub, router, registry, dials: () => dials };
}
