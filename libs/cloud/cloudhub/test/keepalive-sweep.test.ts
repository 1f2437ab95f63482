// The keepalive sweep with a hand-made connection whose close hangs, as with a dead peer that never
// answers the close handshake: the session must be timed out (counted, logged, closed) once.
import { EventEmitter } from 'node:events';
import { Group, Operation, newMessage, type Message } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import type { Connection, ConnectionClosed, ConnectionEvents, HubListener, PeerIdentity } from '@kedge/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudHub, CloudHubMetrics } from '../src/index';
import { Cleanup, metricValue, waitFor } from './fixtures';

type Listener = (...args: unknown[]) => void;

/** A connection that is up until finish() is called; close() only asks, like a peer that never answers. */
class HangingConnection implements Connection {
  readonly kind = 'websocket' as const;
  readonly remoteAddress = '192.0.2.10:40000';
  readonly peer: PeerIdentity;
  readonly closeReasons: string[] = [];
  private readonly events = new EventEmitter();
  private finished = false;
  private markGone!: () => void;
  private readonly gone = new Promise<void>((resolve) => {
    this.markGone = resolve;
  });

  constructor(nodeName: string) {
    this.peer = { nodeName, commonName: `system:node:${nodeName}` };
  }

  get closed(): boolean {
    return this.closeReasons.length > 0 || this.finished;
  }

  async send(_message: Message): Promise<void> {}

  readonly readingPaused = false;
  pauseReading(): void {}
  resumeReading(): void {}

  close(reason = 'closed by this side'): Promise<void> {
    this.closeReasons.push(reason);
    return this.gone;
  }

  /** A message from the peer, as the transport would emit it. */
  deliver(message: Message): void {
    this.events.emit('message', message);
  }

  /** The socket is finally gone. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.markGone();
    this.events.emit('close', { local: true, reason: this.closeReasons[0] ?? 'gone' } satisfies ConnectionClosed);
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.events.on(event, listener as Listener);
    return this;
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.events.off(event, listener as Listener);
    return this;
  }

  once<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.events.once(event, listener as Listener);
    return this;
  }
}

/** A listener the test feeds connections into by hand. */
class ManualListener implements HubListener {
  readonly kind = 'websocket' as const;
  readonly port = 0;
  private handler: ((connection: Connection) => void) | undefined;

  onConnection(handler: (connection: Connection) => void): void {
    this.handler = handler;
  }

  onRefused(): void {}

  push(connection: Connection): void {
    this.handler?.(connection);
  }

  async close(): Promise<void> {}
}

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('cloudhub keepalive sweep', () => {
  it('keepalive - a timed-out session whose close is slow is counted and closed once, not at every sweep', async () => {
    let clock = 0;
    let clockReads = 0;
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const hub = new CloudHub({
      router: new MessageRouter(),
      logger: createLogger({ name: 'sweep-test', level: 'silent' }),
      metrics: new CloudHubMetrics(registry),
      keepaliveTimeoutMs: 300,
      now: () => {
        clockReads += 1;
        return clock;
      },
    });
    const listener = new ManualListener();
    hub.attach(listener);
    const connection = new HangingConnection('node-dead');
    cleanup.add(() => hub.close());
    cleanup.add(() => connection.finish());
    listener.push(connection);
    expect(hub.isConnected('node-dead')).toBe(true);

    clock += 1_000;
    await waitFor(() => connection.closeReasons.length > 0, 'the sweep to close the silent session');
    // each sweep reads the clock once; let several more sweeps run while the close is still pending
    const readsAtClose = clockReads;
    await waitFor(() => clockReads >= readsAtClose + 3, 'three more sweeps');
    expect(connection.closeReasons).toEqual(['keepalive timeout']);
    expect(await metricValue(registry, 'kedge_cloudhub_sessions_timed_out_total')).toBe(1);

    connection.finish();
    expect(hub.isConnected('node-dead')).toBe(false);
    expect(await metricValue(registry, 'kedge_cloudhub_connected_nodes')).toBe(0);
  });
  it('keepalive - a sweep late because cloudcore stalled does not drop sessions whose keepalives wait unread', async () => {
    let clock = 0;
    let clockReads = 0;
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const hub = new CloudHub({
      router: new MessageRouter(),
      logger: createLogger({ name: 'sweep-test', level: 'silent' }),
      metrics: new CloudHubMetrics(registry),
      keepaliveTimeoutMs: 300,
      now: () => {
        clockReads += 1;
        return clock;
      },
    });
    const listener = new ManualListener();
    hub.attach(listener);
    const connection = new HangingConnection('node-busy-cloud');
    cleanup.add(() => hub.close());
    cleanup.add(() => connection.finish());
    listener.push(connection);

    // the process was stalled for a second: the first sweep after it runs before any socket is read
    clock += 1_000;
    const readsBefore = clockReads;
    await waitFor(() => clockReads >= readsBefore + 1, 'the late sweep');
    expect(connection.closeReasons).toEqual([]);
    // then the keepalive that waited in the socket is read
    connection.deliver(newMessage({ source: 'edgehub', group: Group.Resource, operation: Operation.Keepalive, resource: 'null/node/node-busy-cloud', content: 'ping' }));
    const readsAfter = clockReads;
    await waitFor(() => clockReads >= readsAfter + 3, 'three more sweeps');
    expect(connection.closeReasons).toEqual([]);
    expect(await metricValue(registry, 'kedge_cloudhub_sessions_timed_out_total')).toBe(0);
    // a node that stays silent past the timeout is still dropped
    clock += 301;
    await waitFor(() => connection.closeReasons.length > 0, 'the silent session dropped');
    expect(connection.closeReasons).toEqual(['keepalive timeout']);
  });
});
