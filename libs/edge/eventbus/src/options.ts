// EventBus options, their defaults and validation. Everything is checked in the constructor so a bad
// configuration fails at startup with the option named, not at the first message.
import { isIP } from 'node:net';
import { HW_EVENTS_PREFIX, METHOD_RESULT_FILTER, requestFilters } from '@kedge/device-api';
import type { Message } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { EventBusError } from './errors';
import { checkFilter } from './topics';

/** `internal`: embedded broker only; `external`: a broker such as mosquitto only; `both`: embedded broker bridged to an external one. */
export type EventBusMode = 'internal' | 'external' | 'both';
export type Qos = 0 | 1;

export interface ServerTls {
  /** PEM certificate (chain) of the broker */
  cert: string;
  key: string;
  /** PEM CA that client certificates must chain to; required with requireClientCert */
  ca?: string;
  /** refuse clients without a certificate signed by `ca` (default false) */
  requireClientCert?: boolean;
}

/** Topic filters a client may publish to and subscribe to (MQTT filters; `#` never matches a `$...` topic). */
export interface TopicRules {
  publish: string[];
  subscribe: string[];
}

/** A client of the internal broker: it CONNECTs with this username and password and reaches only its topics. */
export interface MqttUser extends TopicRules {
  username: string;
  password: string;
}

export interface InternalBrokerOptions {
  /** default 127.0.0.1: devices and mappers on the gateway itself */
  host?: string;
  /** default 1883; 0 picks a free port (see EventBus.internalAddress) */
  port?: number;
  /** MQTT over TLS instead of plain TCP */
  tls?: ServerTls;
  /** clients that authenticate; required when the broker listens beyond loopback */
  users?: MqttUser[];
  /**
   * What a client that CONNECTs without a username may do. Such clients are accepted only from a
   * loopback peer (never from the LAN); false refuses them. Default DEFAULT_ANONYMOUS_RULES: the device
   * contract a KubeEdge mapper on the gateway uses (requests in, results and deltas out) and application
   * topics in, never a twin delta or `#` subscription.
   */
  anonymous?: TopicRules | false;
}

export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** How an in-process client (the mappers) connects to the bus's broker. The password is never logged. */
export interface LocalClientOptions {
  url: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** set for the internal broker over TLS: the certificate is pinned through `ca`, not its name */
  checkServerIdentity?: () => undefined;
}

export interface ExternalBrokerOptions {
  /** e.g. `mqtt://127.0.0.1:1883` or `mqtts://broker:8883` */
  url: string;
  username?: string;
  password?: string;
  tls?: ClientTls;
  /** default `kedge-eventbus-<node>-<random>` */
  clientId?: string;
  /** time between reconnect attempts (default 2 s) */
  reconnectPeriodMs?: number;
  /** default 10 s */
  connectTimeoutMs?: number;
}

export interface EventBusOptions {
  /** default `internal` */
  mode?: EventBusMode;
  nodeName: string;
  internal?: InternalBrokerOptions;
  /** required in `external` and `both` modes */
  external?: ExternalBrokerOptions;
  /** mode `both`: filters bridged in both directions besides `$hw/events/#` */
  bridgeTopics?: string[];
  /** application topic filters uploaded to the cloud (default KubeEdge's: `SYS/dis/upload_records`, `+/user/#`) */
  uploadTopics?: string[];
  /** hands an upload (group `user`, operation `upload`) to the cloud link; without it nothing is uploaded */
  send?: (message: Message) => void | Promise<void>;
  /** when given, the bus takes group `user` (cloud → edge `publish`, `subscribe`, `unsubscribe`) */
  router?: MessageRouter;
  logger: Logger;
  registry: Registry;
  /** payloads above this are refused (the publishing client is disconnected) and counted; default 1 MiB */
  maxPayloadBytes?: number;
}

export const DEFAULT_INTERNAL_PORT = 1883;

/** The requests a device client sends to the twin (twin/update, twin/get, state/update, state/get, membership/get). */
const DEVICE_REQUESTS: readonly string[] = requestFilters(true);

/**
 * Loopback clients without a username: the mapper side of the device contract (reports, method results)
 * and application topics. Invoking a device method (`.../method/<name>`) writes to the device, like a
 * desired value, so it is not open to anonymous clients: grant METHOD_INVOKE_FILTER to a user.
 */
export const DEFAULT_ANONYMOUS_RULES: Readonly<TopicRules> = Object.freeze({
  // `#` never matches a `$` topic, so it opens application topics only, never `$hw/...` deltas
  publish: [...DEVICE_REQUESTS, METHOD_RESULT_FILTER, '#'],
  subscribe: ['$hw/events/#'],
});

/** edgecore's own mappers: they report, read deltas and answer methods; they never publish a delta or invoke a method. */
export const LOCAL_CLIENT_RULES: Readonly<TopicRules> = Object.freeze({ publish: [...DEVICE_REQUESTS, METHOD_RESULT_FILTER], subscribe: ['$hw/events/#'] });

/** Loopback addresses and names: a listener only there is reached from the gateway itself. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}
export const DEFAULT_UPLOAD_TOPICS: readonly string[] = ['SYS/dis/upload_records', '+/user/#'];
export const HW_EVENTS_FILTER = `${HW_EVENTS_PREFIX}#`;

export interface ResolvedOptions {
  mode: EventBusMode;
  nodeName: string;
  internal: Required<Pick<InternalBrokerOptions, 'host' | 'port'>> & Omit<InternalBrokerOptions, 'users' | 'anonymous'> & { users: MqttUser[]; anonymous: TopicRules | false };
  external: ExternalBrokerOptions | undefined;
  bridgeTopics: string[];
  uploadTopics: string[];
  maxPayloadBytes: number;
}

function invalid(field: string, message: string): EventBusError {
  return new EventBusError('INVALID_OPTION', `${field}: ${message}`, field);
}

function filters(list: unknown, field: string): string[] {
  if (!Array.isArray(list)) throw invalid(field, 'must be an array of topic filters');
  return list.map((filter, index) => {
    try {
      return checkFilter(filter, `${field}[${index}]`);
    } catch (error) {
      throw invalid(`${field}[${index}]`, (error as Error).message);
    }
  });
}

function checkRules(rules: TopicRules, field: string): TopicRules {
  if (typeof rules !== 'object' || rules === null) throw invalid(field, 'must be an object with publish and subscribe lists of topic filters');
  return { publish: filters(rules.publish ?? [], `${field}.publish`), subscribe: filters(rules.subscribe ?? [], `${field}.subscribe`) };
}

function checkUser(user: MqttUser, field: string): MqttUser {
  if (typeof user?.username !== 'string' || user.username === '') throw invalid(`${field}.username`, 'is required');
  // never echo the password: say only what is wrong with it
  if (typeof user.password !== 'string' || user.password.length < 12) throw invalid(`${field}.password`, 'must be at least 12 characters');
  return { username: user.username, password: user.password, ...checkRules(user, field) };
}

export function resolveOptions(options: EventBusOptions): ResolvedOptions {
  const mode = options.mode ?? 'internal';
  if (mode !== 'internal' && mode !== 'external' && mode !== 'both') throw invalid('mode', `must be internal, external or both, got ${String(mode)}`);
  if (typeof options.nodeName !== 'string' || options.nodeName === '') throw invalid('nodeName', 'is required');
  const internal = { ...options.internal, host: options.internal?.host ?? '127.0.0.1', port: options.internal?.port ?? DEFAULT_INTERNAL_PORT };
  if (!Number.isInteger(internal.port) || internal.port < 0 || internal.port > 65_535) throw invalid('internal.port', `must be 0 to 65535, got ${String(internal.port)}`);
  const users = (options.internal?.users ?? []).map((user, index) => checkUser(user, `internal.users[${index}]`));
  const names = new Set<string>();
  users.forEach((user, index) => {
    if (names.has(user.username)) throw invalid(`internal.users[${index}].username`, `${JSON.stringify(user.username)} is listed twice`);
    names.add(user.username);
  });
  const anonymousOption = options.internal?.anonymous;
  const anonymous: TopicRules | false =
    anonymousOption === false ? false : anonymousOption === undefined ? { publish: [...DEFAULT_ANONYMOUS_RULES.publish], subscribe: [...DEFAULT_ANONYMOUS_RULES.subscribe] } : checkRules(anonymousOption, 'internal.anonymous');
  if (!isLoopbackHost(internal.host) && users.length === 0) {
    throw invalid(
      'internal.users',
      `the internal broker would listen on ${internal.host}, beyond loopback, without authentication (anyone on the network could publish twin deltas that drive actuators): add users with a password file and topic rules, or listen on 127.0.0.1`,
    );
  }
  Object.assign(internal, { users, anonymous });
  if (internal.tls?.requireClientCert && !internal.tls.ca) throw invalid('internal.tls.ca', 'is required with requireClientCert');
  if (mode !== 'internal') {
    const url = options.external?.url;
    if (typeof url !== 'string' || !/^(mqtts?|tcp|ssl|tls|wss?):\/\/./.test(url)) throw invalid('external.url', `mode ${mode} needs a broker URL such as mqtt://127.0.0.1:1883`);
    // credentials in a URL end up in logs and process listings
    if (/^[a-z]+:\/\/[^/]*@/i.test(url)) throw invalid('external.url', 'must not carry a username or password; give external.username and a password file instead');
  }
  const maxPayloadBytes = options.maxPayloadBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) throw invalid('maxPayloadBytes', 'must be a positive integer');
  const bridgeTopics = [HW_EVENTS_FILTER, ...filters(options.bridgeTopics ?? [], 'bridgeTopics')];
  return {
    mode,
    nodeName: options.nodeName,
    internal: internal as ResolvedOptions['internal'],
    external: options.external,
    bridgeTopics: [...new Set(bridgeTopics)],
    uploadTopics: filters(options.uploadTopics ?? [...DEFAULT_UPLOAD_TOPICS], 'uploadTopics'),
    maxPayloadBytes,
  };
}
