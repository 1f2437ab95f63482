// Test fixtures for EdgeHub: in-memory PKI made with @kedge/pki, a bare hub listener standing in for
// cloudcore (edge code may not import cloud code, so no CloudHub here), polling, metrics and cleanup.
import type { Message } from '@kedge/protocol';
import { type Cleanup, type TestPki } from '@kedge/testkit';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { dialHub, listenHub, type Connection, type ConnectionClosed, type HubListener, type TransportKind } from '@kedge/transport';
import type { Registry } from 'prom-client';
import { EdgeHub, EdgeHubMetrics, type EdgeHubOptions } from '../src/index';

export { Cleanup, createTestPki, metricValue, waitFor, type TestPki } from '@kedge/testkit';

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
