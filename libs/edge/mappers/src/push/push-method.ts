// A property's `pushMethod` in KubeEdge's shape (devices/v1beta1 PushMethod): `http {hostName, port, requestPath,
// timeout}`, `mqtt {address, topic, qos, retained}`, `dbMethod {influxdb2 | redis | TDEngine | mysql}`.
// http and mqtt are delivered; dbMethod kinds are accepted and reported as unsupported.
import { isRecord } from '@kedge/kube-core';
import { MapperError } from '../errors';

export interface HttpPush {
  method: 'http';
  url: string;
  timeoutMs: number;
}

export interface MqttPush {
  method: 'mqtt';
  address: string;
  topic: string;
  qos: 0 | 1 | 2;
  retained: boolean;
}

export type PushTargetConfig = HttpPush | MqttPush;

export interface ParsedPushMethod {
  targets: PushTargetConfig[];
  /** dbMethod kinds given but not delivered by kedge, e.g. `influxdb2` */
  unsupported: string[];
}

const DB_KINDS = ['influxdb2', 'redis', 'TDEngine', 'mysql'];

export function parsePushMethod(raw: unknown, device: string, property: string, index: number): ParsedPushMethod {
  const base = `spec.properties[${index}].pushMethod`;
  const out: ParsedPushMethod = { targets: [], unsupported: [] };
  if (raw === undefined || raw === null) return out;
  if (!isRecord(raw)) throw new MapperError('CONFIG_INVALID', 'pushMethod must be an object', { device, property, field: base });
  const { http, mqtt, dbMethod } = raw;
  if (http !== undefined) {
    if (!isRecord(http)) throw new MapperError('CONFIG_INVALID', 'must be an object', { device, property, field: `${base}.http` });
    const host = typeof http['hostName'] === 'string' ? http['hostName'] : '';
    if (host === '') throw new MapperError('CONFIG_INVALID', 'hostName is missing', { device, property, field: `${base}.http.hostName` });
    const port = http['port'];
    if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new MapperError('CONFIG_INVALID', `port ${String(port)} is not 1..65535`, { device, property, field: `${base}.http.port` });
    }
    const path = typeof http['requestPath'] === 'string' ? http['requestPath'] : '/';
    // KubeEdge's hostName carries the scheme (`http://127.0.0.1`); a bare host gets http://
    const origin = /^https?:\/\//.test(host) ? host : `http://${host}`;
    let url: URL;
    try {
      url = new URL(`${origin}${port !== undefined ? `:${port}` : ''}${path.startsWith('/') ? path : `/${path}`}`);
    } catch {
      throw new MapperError('CONFIG_INVALID', `${host}:${String(port)}${path} is not a URL`, { device, property, field: `${base}.http.hostName` });
    }
    const timeout = http['timeout'];
    if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
      throw new MapperError('CONFIG_INVALID', 'timeout must be a positive number of milliseconds', { device, property, field: `${base}.http.timeout` });
    }
    out.targets.push({ method: 'http', url: url.toString(), timeoutMs: typeof timeout === 'number' ? timeout : 5000 });
  }
  if (mqtt !== undefined) {
    if (!isRecord(mqtt)) throw new MapperError('CONFIG_INVALID', 'must be an object', { device, property, field: `${base}.mqtt` });
    const address = mqtt['address'];
    if (typeof address !== 'string' || !/^(mqtts?|tcp|ssl|wss?):\/\/.+/.test(address)) {
      throw new MapperError('CONFIG_INVALID', `address must be mqtt://host:port (or mqtts, tcp, ssl, ws, wss), got ${JSON.stringify(address ?? '')}`, { device, property, field: `${base}.mqtt.address` });
    }
    const topic = mqtt['topic'];
    if (typeof topic !== 'string' || topic === '' || /[#+]/.test(topic)) {
      throw new MapperError('CONFIG_INVALID', 'topic must be a non-empty topic name without wildcards', { device, property, field: `${base}.mqtt.topic` });
    }
    const qos = mqtt['qos'] ?? 0;
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new MapperError('CONFIG_INVALID', `qos ${String(qos)} is not 0, 1 or 2`, { device, property, field: `${base}.mqtt.qos` });
    out.targets.push({ method: 'mqtt', address: address.replace(/^tcp:/, 'mqtt:').replace(/^ssl:/, 'mqtts:'), topic, qos, retained: mqtt['retained'] === true });
  }
  if (dbMethod !== undefined) {
    if (!isRecord(dbMethod)) throw new MapperError('CONFIG_INVALID', 'must be an object', { device, property, field: `${base}.dbMethod` });
    for (const kind of Object.keys(dbMethod)) out.unsupported.push(DB_KINDS.includes(kind) ? `dbMethod.${kind}` : `dbMethod.${kind} (unknown)`);
  }
  return out;
}
