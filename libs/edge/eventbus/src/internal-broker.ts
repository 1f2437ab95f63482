// The embedded broker: aedes behind a TCP or TLS listener. Every aedes hook is wrapped so that a
// failure inside it refuses one packet (or one connection) and never reaches the process.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import { isLoopbackAddress, type Logger } from '@kedge/telemetry';
import { EventBusError } from './errors';
import { type MqttUser, type Qos, type ServerTls, type TopicRules } from './options';
import { SubscriberIndex } from './subscriber-index';
import { filterCovers, topicMatches } from './topics';

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
  /**
   * A QoS 1 (or 2) publish by an MQTT client, accepted, before the broker acknowledges it: when this
   * returns a promise, the PUBACK (and the delivery to subscribers) waits until it settles.
   */
  beforeAcknowledge(message: BrokerPublish): Promise<void> | undefined;
  /** a publish refused before delivery (too large, reserved topic) */
  onRefused(topic: string, reason: string): void;
  /** a client refused at CONNECT, PUBLISH or SUBSCRIBE by authentication or its topic rules */
  onAccessRefused(reason: AccessRefusal, detail: { client: string; username: string | undefined; remote: string | undefined; topic?: string }): void;
}

export type AccessRefusal = 'bad_credentials' | 'anonymous_refused' | 'publish_denied' | 'subscribe_denied';

export interface InternalBrokerConfig {
  host: string;
  port: number;
  tls?: ServerTls;
  users: MqttUser[];
  anonymous: TopicRules | false;
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

function authError(returnCode: 4 | 5): AuthenticateError {
  // 4 = bad username or password, 5 = not authorized (AuthErrorCode is a const enum, not importable under isolatedModules)
  return Object.assign(new Error(returnCode === 4 ? 'bad username or password' : 'not authorized'), { returnCode }) as AuthenticateError;
}

function brokerPublish(packet: { topic: string; payload: Buffer | string; qos: number; retain: boolean }, client: Client): BrokerPublish {
  const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
  return { topic: packet.topic, payload, qos: packet.qos === 0 ? 0 : 1, retain: packet.retain, clientId: client.id };
}

/** whether `rules` let a client publish on `topic` (checked for every publish: a loop, no closure) */
function mayPublish(rules: TopicRules, topic: string): boolean {
  for (const allowed of rules.publish) if (topicMatches(allowed, topic)) return true;
  return false;
}

/** The peer address of an aedes client's connection (a net or TLS socket). */
function remoteOf(client: Client): string | undefined {
  return (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
}


export class InternalBroker {
  readonly #broker: Aedes;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #logger: Logger;
  readonly #subscribers: SubscriberIndex;
  #closed = false;

  private constructor(broker: Aedes, server: Server, logger: Logger, subscribers: SubscriberIndex) {
    this.#broker = broker;
    this.#server = server;
    this.#logger = logger;
    this.#subscribers = subscribers;
  }

  /** Creates the broker and listens. @throws EventBusError LISTEN_FAILED */
  static async start(config: InternalBrokerConfig): Promise<InternalBroker> {
    const { logger, hooks, maxPayloadBytes } = config;
    const users = new Map(config.users.map((user) => [user.username, user]));
    const rulesOf = new WeakMap<Client, { username: string | undefined; rules: TopicRules }>();
    const unknownUserPassword = randomBytes(24).toString('base64url');
    const subscribers = new SubscriberIndex();
    const broker = await Aedes.createBroker({
      heartbeatInterval: 60_000,
      authenticate(client, username, password, done) {
        try {
          const remote = remoteOf(client);
          if (username === undefined || username === '') {
            // no username: only a process on the gateway itself, and only if anonymous access is on
            if (config.anonymous !== false && isLoopbackAddress(remote)) {
              rulesOf.set(client, { username: undefined, rules: config.anonymous });
              return done(null, true);
            }
            hooks.onAccessRefused('anonymous_refused', { client: client.id, username: undefined, remote });
            return done(authError(5), false);
          }
          const user = users.get(username);
          // compare a password even for an unknown user, so timing does not tell which names exist
          const passwordOk = sameSecret(password, user?.password ?? unknownUserPassword);
          if (user !== undefined && passwordOk) {
            rulesOf.set(client, { username, rules: user });
            return done(null, true);
          }
          hooks.onAccessRefused('bad_credentials', { client: client.id, username, remote });
          done(authError(4), false);
        } catch (error) {
          done(error as AuthenticateError, false);
        }
      },
      authorizeSubscribe(client, subscription, done) {
        try {
          const access = client === null ? undefined : rulesOf.get(client);
          if (access !== undefined && access.rules.subscribe.some((allowed) => filterCovers(allowed, subscription.topic))) {
            // also on a persistent session's restore, which authorizes again but emits no 'subscribe'
            if (client !== null) subscribers.granted(client, subscription.topic);
            return done(null, subscription);
          }
          hooks.onAccessRefused('subscribe_denied', { client: client?.id ?? '', username: access?.username, remote: client ? remoteOf(client) : undefined, topic: subscription.topic });
          // null: SUBACK 0x80 for this filter, the connection stays
          done(null, null);
        } catch (error) {
          done(error as Error, null);
        }
      },
      authorizePublish(client, packet, done) {
        try {
          if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved for the broker'));
          // client null: the broker's own publish (the twin, the bridge), not a network client
          if (client !== null) {
            const access = rulesOf.get(client);
            if (access === undefined || !mayPublish(access.rules, packet.topic)) {
              hooks.onAccessRefused('publish_denied', { client: client.id, username: access?.username, remote: remoteOf(client), topic: packet.topic });
              // an error disconnects the client (MQTT 3.1.1 has no negative PUBACK): nothing is delivered
              return done(new Error(`not allowed to publish on ${packet.topic.slice(0, 200)}`));
            }
          }
          const size = packet.payload?.length ?? 0;
          if (size > maxPayloadBytes) {
            hooks.onRefused(packet.topic, `payload of ${size} bytes is larger than ${maxPayloadBytes}`);
            return done(new Error(`payload too large (${size} > ${maxPayloadBytes} bytes)`));
          }
          // aedes writes the PUBACK right after this callback: a handler that must finish first (the
          // twin's commit) holds it here. aedes handles a client's packets of one read concurrently and
          // reads on once they are done, so the wait depends on nothing the client still has to send
          const pending = client !== null && packet.qos > 0 ? hooks.beforeAcknowledge(brokerPublish(packet, client)) : undefined;
          if (pending === undefined) return done(null);
          // a failing handler is the handler's to count; the publish itself was accepted
          pending.then(
            () => done(null),
            () => done(null),
          );
        } catch (error) {
          done(error as Error);
        }
      },
    });
    broker.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      // publishes made through aedes.publish (our own, the bridge's, $SYS heartbeats) have no client
      if (client === null) return;
      try {
        hooks.onClientPublish(brokerPublish(packet, client));
      } catch (error) {
        logger.error({ error, topic: packet.topic }, 'eventbus hook failed on a client publish');
      }
    });
    broker.on('unsubscribe', (filters: string[], client: Client) => subscribers.unsubscribed(client, filters));
    broker.on('client', (client: Client) => subscribers.connected(client));
    broker.on('clientDisconnect', (client: Client) => subscribers.disconnected(client));
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
    const instance = new InternalBroker(broker, server, logger, subscribers);
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

  /**
   * Whether a client subscribes to a filter matching `topic` (a persistent session also while offline).
   * It may say yes for a filter just dropped, never no for one the broker still delivers to.
   */
  hasSubscriber(topic: string): boolean {
    return this.#subscribers.matches(topic);
  }

  /** Delivers to the broker's subscribers as the broker itself (no authorizePublish, no onClientPublish). */
  publish(topic: string, payload: Buffer | string, qos: Qos, retain: boolean): Promise<void> {
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
