// EventBus options, their defaults and validation. Everything is checked in the constructor so a bad
// configuration fails at startup with the option named, not at the first message.
import { HW_EVENTS_PREFIX } from '@kedge/device-api';
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

export interface InternalBrokerOptions {
  /** default 127.0.0.1: devices and mappers on the gateway itself */
  host?: string;
  /** default 1883; 0 picks a free port (see EventBus.internalAddress) */
  port?: number;
  /** MQTT over TLS instead of plain TCP */
  tls?: ServerTls;
  /** when set, every client must CONNECT with this username and password */
  username?: string;
  password?: string;
}

export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
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
export const DEFAULT_UPLOAD_TOPICS: readonly string[] = ['SYS/dis/upload_records', '+/user/#'];
export const HW_EVENTS_FILTER = `${HW_EVENTS_PREFIX}#`;

export interface ResolvedOptions {
  mode: EventBusMode;
  nodeName: string;
  internal: Required<Pick<InternalBrokerOptions, 'host' | 'port'>> & InternalBrokerOptions;
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

export function resolveOptions(options: EventBusOptions): ResolvedOptions {
  const mode = options.mode ?? 'internal';
  if (mode !== 'internal' && mode !== 'external' && mode !== 'both') throw invalid('mode', `must be internal, external or both, got ${String(mode)}`);
  if (typeof options.nodeName !== 'string' || options.nodeName === '') throw invalid('nodeName', 'is required');
  const internal = { ...options.internal, host: options.internal?.host ?? '127.0.0.1', port: options.internal?.port ?? DEFAULT_INTERNAL_PORT };
  if (!Number.isInteger(internal.port) || internal.port < 0 || internal.port > 65_535) throw invalid('internal.port', `must be 0 to 65535, got ${String(internal.port)}`);
  if ((internal.username === undefined) !== (internal.password === undefined)) throw invalid('internal.username', 'username and password go together');
  if (internal.tls?.requireClientCert && !internal.tls.ca) throw invalid('internal.tls.ca', 'is required with requireClientCert');
  if (mode !== 'internal') {
    const url = options.external?.url;
    if (typeof url !== 'string' || !/^(mqtts?|tcp|ssl|tls|wss?):\/\/./.test(url)) throw invalid('external.url', `mode ${mode} needs a broker URL such as mqtt://127.0.0.1:1883`);
  }
  const maxPayloadBytes = options.maxPayloadBytes ?? 1024 * 1024;
  if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) throw invalid('maxPayloadBytes', 'must be a positive integer');
  const bridgeTopics = [HW_EVENTS_FILTER, ...filters(options.bridgeTopics ?? [], 'bridgeTopics')];
  return {
    mode,
    nodeName: options.nodeName,
    internal,
    external: options.external,
    bridgeTopics: [...new Set(bridgeTopics)],
    uploadTopics: filters(options.uploadTopics ?? [...DEFAULT_UPLOAD_TOPICS], 'uploadTopics'),
    maxPayloadBytes,
  };
}
