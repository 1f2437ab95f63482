// Test fixtures for CloudHub: in-memory PKI made with @kedge/pki, a CloudHub behind real listeners on
// 127.0.0.1 port 0, edges dialed with the real transports, metric readers, polling, and cleanup.
import { newMessage, type Message } from '@kedge/protocol';
import { type Cleanup, type TestPki } from '@kedge/testkit';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { dialHub, listenHub, type Connection, type ConnectionClosed, type HubListener, type TransportKind } from '@kedge/transport';
import type { Registry } from 'prom-client';
import { CloudHub, CloudHubMetrics, type CloudHubOptions } from '../src/index';

export { Cleanup, createTestPki, metricValue, waitFor, type TestPki } from '@kedge/testkit';

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
