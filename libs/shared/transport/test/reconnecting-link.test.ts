import { EventEmitter } from 'node:events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { requires, type Requirement } from '@kedge/testkit';
import type { Message } from '@kedge/protocol';
import type { Connection, ConnectionClosed, HubListener, TransportKind } from '../src/connection';
import { dialHub, listenHub } from '../src/hub';
import { DEFAULT_BACKOFF, ReconnectingLink, backoffDelay } from '../src/reconnecting-link';
import type { BackoffOptions, DialFailedInfo, DisconnectedInfo } from '../src/reconnecting-link';
import { createTestCertificates } from './certificates';
import type { TestCertificates } from './certificates';
import { Cleanup, record, testMessage, waitFor } from './helpers';
import type { Recorder } from './helpers';

/** Just enough Connection for the link's bookkeeping. */
class FakeConnection extends EventEmitter {
  readonly kind = 'websocket' as const;
  readonly peer = { commonName: 'cloudcore' };
  readonly remoteAddress = '127.0.0.1:1';
  closed = false;

  async send(_message: Message): Promise<void> {}

  async close(reason = 'closed'): Promise<void> {
    this.drop({ local: true, reason });
  }

  drop(info: ConnectionClosed): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', info);
  }
}

const asConnection = (fake: FakeConnection): Connection => fake as unknown as Connection;

describe('backoff', () => {
  it('backoff - the delay grows by the multiplier up to the cap, without jitter', () => {
    const options: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2, jitter: 0 };
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => backoffDelay(attempt, options, () => 0.7));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('backoff - jitter keeps the delay within [ceiling x (1 - jitter), ceiling] (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, random, jitter) => {
          const options = { ...DEFAULT_BACKOFF, jitter };
          const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** (attempt - 1));
          const delay = backoffDelay(attempt, options, () => random);
          expect(delay).toBeLessThanOrEqual(Math.round(ceiling));
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling * (1 - jitter)));
        },
      ),
    );
  });

  it('backoff - default jitter 0.5 spreads the first retry over 250..500 ms', () => {
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0)).toBe(500);
    expect(backoffDelay(1, DEFAULT_BACKOFF, () => 0.999_999)).toBe(250);
    expect(new ReconnectingLink({ dial: () => Promise.reject(new Error('x')), random: () => 0.5 }).nextDelay(3)).toBe(1500);
  });
});

describe('reconnecting link', () => {
  const links: ReconnectingLink[] = [];
  afterEach(async () => {
    for (const link of links.splice(0)) await link.stop();
  });

  it('reconnecting link - retries failed dials with growing delays, then reports the connection', async () => {
    const slept: number[] = [];
    let dials = 0;
    const connection = new FakeConnection();
    const link = new ReconnectingLink({
      dial: async () => {
        dials += 1;
        if (dials <= 3) throw new Error(`refused ${dials}`);
        return asConnection(connection);
      },
      backoff: { jitter: 0 },
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    links.push(link);
    const failures: DialFailedInfo[] = [];
    const connected: Connection[] = [];
    link.on('dialFailed', (info) => failures.push(info));
    link.on('connected', (conn) => connected.push(conn));
    link.start();
    await waitFor(() => connected.length === 1, 'the fourth dial to connect');
    expect(failures.map((failure) => [failure.attempt, failure.delayMs, failure.error.message])).toEqual([
      [1, 500, 'refused 1'],
      [2, 1000, 'refused 2'],
      [3, 2000, 'refused 3'],
    ]);
    expect(slept).toEqual([500, 1000, 2000]);
    expect(link.current).toBe(connection);
  });

  it('reconnecting link - a connection that stayed up resets the backoff; one that dropped at once does not', async () => {
    const connections: FakeConnection[] = [];
    let now = 0;
    const disconnects: DisconnectedInfo[] = [];
    const link = new ReconnectingLink({
      dial: async () => {
        const connection = new FakeConnection();
        connections.push(connection);
        return asConnection(connection);
      },
      backoff: { jitter: 0 },
      stableAfterMs: 1_000,
      sleep: async () => undefined,
    });
    links.push(link);
    link.on('disconnected', (info) => disconnects.push(info));
    const realNow = Date.now;
    Date.now = () => now;
    try {
      link.start();
      await waitFor(() => connections.length === 1, 'the first connection');
      connections[0]?.drop({ local: false, reason: 'flap' });
      await waitFor(() => connections.length === 2, 'the second connection');
      connections[1]?.drop({ local: false, reason: 'flap again' });
      await waitFor(() => connections.length === 3, 'the third connection');
      now += 5_000;
      connections[2]?.drop({ local: false, reason: 'after a long time up' });
      await waitFor(() => disconnects.length === 3, 'three disconnects');
    } finally {
      Date.now = realNow;
    }
    expect(disconnects.map((info) => [info.reason, info.retryInMs])).toEqual([
      ['flap', 500],
      ['flap again', 1000],
      ['after a long time up', 500],
    ]);
    expect(disconnects[2]?.uptimeMs).toBe(5_000);
  });

  it('reconnecting link - stop cuts a backoff sleep short and closes the current connection', async () => {
    let fail = true;
    const connection = new FakeConnection();
    const link = new ReconnectingLink({
      dial: async () => {
        if (fail) throw new Error('down');
        return asConnection(connection);
      },
      backoff: { initialDelayMs: 3_600_000, maxDelayMs: 3_600_000, jitter: 0 },
    });
    const failures: DialFailedInfo[] = [];
    link.on('dialFailed', (info) => failures.push(info));
    link.start();
    await waitFor(() => failures.length === 1, 'the first failure');
    // the link now sleeps an hour; stop must not wait for it
    await link.stop();
    expect(link.started).toBe(false);

    fail = false;
    const second = new ReconnectingLink({ dial: async () => asConnection(connection) });
    const connected: Connection[] = [];
    second.on('connected', (conn) => connected.push(conn));
    second.start();
    await waitFor(() => connected.length === 1, 'the connection');
    await second.stop('shutting down');
    expect(connection.closed).toBe(true);
    expect(second.current).toBeUndefined();
  });
});

const kinds: [TransportKind, Requirement][] = [
  ['websocket', await requires()],
  ['quic', await requires('quic')],
  ['webtransport', await requires()],
];

describe.each(kinds)('reconnecting link over %s', (kind, needs) => {
  let certs: TestCertificates;
  const cleanup = new Cleanup();
  beforeAll(() => {
    certs = createTestCertificates();
  });
  afterAll(() => certs.cleanup());
  afterEach(() => cleanup.run());

  needs.it(`reconnecting link - reconnects by itself when the ${kind} hub restarts on the same port`, async () => {
    const accepted: Recorder[] = [];
    const listen = async (port: number): Promise<HubListener> => {
      const listener = await listenHub(kind, { host: '127.0.0.1', port, tls: certs.server });
      listener.onConnection((connection) => accepted.push(record(connection)));
      return listener;
    };
    let listener = await listen(0);
    const port = listener.port;
    cleanup.add(() => listener.close());

    const link = new ReconnectingLink({
      dial: () =>
        dialHub(kind, {
          url: `${{ websocket: 'wss', quic: 'quic', webtransport: 'https' }[kind]}://127.0.0.1:${port}`,
          tls: certs.nodeA,
          nodeName: 'node-a',
          handshakeTimeoutMs: 2_000,
        }),
      backoff: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    cleanup.add(() => link.stop());
    const connected: Connection[] = [];
    const disconnected: DisconnectedInfo[] = [];
    const failures: DialFailedInfo[] = [];
    link.on('connected', (connection) => connected.push(connection));
    link.on('disconnected', (info) => disconnected.push(info));
    link.on('dialFailed', (info) => failures.push(info));
    link.start();
    await waitFor(() => connected.length === 1 && accepted.length === 1, 'the first connection');

    await listener.close();
    await waitFor(() => disconnected.length === 1, 'the link to notice the hub is gone');
    await waitFor(() => failures.length >= 1, 'a redial to fail while the hub is down');

    listener = await listen(port);
    await waitFor(() => connected.length === 2 && accepted.length === 2, 'the link to reconnect');
    const current = link.current;
    expect(current).toBe(connected[1]);
    await current?.send(testMessage('after restart'));
    await waitFor(() => accepted[1]?.messages.length === 1, 'a message over the new connection');
    expect(accepted[1]?.connection.peer.nodeName).toBe('node-a');
  });
});
