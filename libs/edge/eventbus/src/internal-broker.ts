// The embedded broker: aedes behind a TCP or TLS listener. Every aedes hook is wrapped so that a
// failure inside it refuses one packet (or one connection) and never reaches the process.
import { timingSafeEqual } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from '@kedge/telemetry';
import { EventBusError } from './errors';
import type { InternalBrokerOptions, Qos } from './options';

export interface BrokerPublish {
  topic: string;
  payload: Buffer;
  qos: Qos;
  retain: boolean;
  clientId: string;
}

export interface InternalBrokerHooks {
  /** a publish by an MQTT client, after the broker accepted it */
  onClientPublish(message: BrokerPublish): void;
  /** a publish refused before delivery (too large, reserved topic) */
  onRefused(topic: string, reason: string): void;
}

export interface InternalBrokerConfig extends InternalBrokerOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  logger: Logger;
  hooks: InternalBrokerHooks;
}

function sameSecret(given: Buffer | string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function authError(): AuthenticateError {
  // 4 = bad username or password (AuthErrorCode is a const enum, not importable under isolatedModules)
  return Object.assign(new Error('bad username or password'), { returnCode: 4 }) as AuthenticateError;
}

export class InternalBroker {
  readonly #broker: Aedes;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #logger: Logger;
  #closed = false;

  private constructor(broker: Aedes, server: Server, logger: Logger) {
    this.#broker = broker;
    this.#server = server;
    this.#logger = logger;
  }

  /** Creates the broker and listens. @throws EventBusError LISTEN_FAILED */
  static async start(config: InternalBrokerConfig): Promise<InternalBroker> {
    const { logger, hooks, maxPayloadBytes } = config;
    const broker = await Aedes.createBroker({
      heartbeatInterval: 60_000,
      authenticate(_client, username, password, done) {
        if (config.username === undefined || config.password === undefined) return done(null, true);
        const ok = username === config.username && sameSecret(password, config.password);
        if (ok) done(null, true);
        else done(authError(), false);
      },
      authorizePublish(_client, packet, done) {
        try {
          if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved for the broker'));
          const size = packet.payload?.length ?? 0;
          if (size > maxPayloadBytes) {
            hooks.onRefused(packet.topic, `payload of ${size} bytes is larger than ${maxPayloadBytes}`);
            return done(new Error(`payload too large (${size} > ${maxPayloadBytes} bytes)`));
          }
          done(null);
        } catch (error) {
          done(error as Error);
        }
      },
    });
    broker.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      // publishes made through aedes.publish (our own, the bridge's, $SYS heartbeats) have no client
      if (client === null) return;
      try {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        hooks.onClientPublish({ topic: packet.topic, payload, qos: packet.qos === 0 ? 0 : 1, retain: packet.retain, clientId: client.id });
      } catch (error) {
        logger.error({ error, topic: packet.topic }, 'eventbus hook failed on a client publish');
      }
    });
    broker.on('clientError', (client: Client, error: Error) => logger.debug({ client: client.id, error: error.message }, 'mqtt client error'));
    broker.on('connectionError', (_client: Client, error: Error) => logger.debug({ error: error.message }, 'mqtt connection error'));

    const handle = (socket: Socket): void => {
      broker.handle(socket);
    };
    const server = config.tls
      ? createTlsServer(
          {
            cert: config.tls.cert,
            key: config.tls.key,
            ...(config.tls.ca === undefined ? {} : { ca: config.tls.ca }),
            requestCert: config.tls.requireClientCert ?? false,
            rejectUnauthorized: config.tls.requireClientCert ?? false,
          },
          handle,
        )
      : createNetServer(handle);
    const instance = new InternalBroker(broker, server, logger);
    server.on('connection', (socket: Socket) => {
      // small request/response packets: without this, Nagle + delayed ACK add ~40 ms per answer
      socket.setNoDelay(true);
      instance.#sockets.add(socket);
      socket.on('close', () => instance.#sockets.delete(socket));
    });
    server.on('tlsClientError', (error: Error) => logger.debug({ error: error.message }, 'mqtt TLS handshake refused'));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      throw new EventBusError('LISTEN_FAILED', `internal broker cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`, 'internal.port', { cause: error });
    }
    server.on('error', (error: Error) => logger.error({ error: error.message }, 'internal broker listener error'));
    return instance;
  }

  get address(): { host: string; port: number } {
    const address = this.#server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  get clientCount(): number {
    return this.#broker.connectedClients;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Delivers to the broker's subscribers as the broker itself (no authorizePublish, no onClientPublish). */
  publish(topic: string, payload: Buffer, qos: Qos, retain: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new EventBusError('NOT_RUNNING', 'the internal broker is closed'));
    return new Promise((resolve, reject) => {
      this.#broker.publish({ cmd: 'publish', topic, payload, qos, retain, dup: false }, (error) => {
        if (error) reject(new EventBusError('PUBLISH_FAILED', `internal broker refused ${topic}: ${error.message}`, 'topic', { cause: error }));
        else resolve();
      });
    });
  }

  /** Disconnects every client, then stops listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await new Promise<void>((resolve) => this.#broker.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await serverClosed;
    this.#logger.debug('internal broker closed');
  }
}
