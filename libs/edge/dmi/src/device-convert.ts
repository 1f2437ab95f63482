// Devices between kedge and DMI. Edgecore side: the cloud's membership entry of a Device (as the
// DeviceTwin hands it over: protocol, model, desired values, propertyVisitors) → DMI Device and
// DeviceModel, as KubeEdge's edgecore builds them. Mapper side: DMI Device + DeviceModel → the CRD
// shape (`spec.protocol`, `spec.properties[].visitors`, ...) kedge's mappers run.
import { isRecord } from '@kedge/kube-core';
import { DmiError, shown } from './errors';
import { decodeCustomizedValue, encodeCustomizedValue } from './customized-value';
import type { PbDevice, PbDeviceModel, PbDeviceProperty, PbPushMethod } from './wire';

/** The device id kedge uses everywhere: `<namespace>/<name>`. */
export function dmiDeviceId(namespace: string, name: string): string {
  return `${namespace === '' ? 'default' : namespace}/${name}`;
}

/** The protocol of a membership entry (`protocol.protocolName`), or undefined. */
export function protocolOf(source: Record<string, unknown>): string | undefined {
  const protocol = source['protocol'];
  return isRecord(protocol) && typeof protocol['protocolName'] === 'string' && protocol['protocolName'] !== '' ? protocol['protocolName'] : undefined;
}

const records = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);
const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const int = (value: unknown): number => (typeof value === 'number' && Number.isSafeInteger(value) ? value : 0);

/** DMI DeviceModel of a membership entry. */
export function toPbModel(source: Record<string, unknown>): PbDeviceModel {
  const model = isRecord(source['model']) ? source['model'] : {};
  return {
    name: text(model['name']),
    namespace: text(source['namespace']),
    spec: {
      properties: records(model['properties']).map((p) => ({
        name: text(p['name']),
        description: text(p['description']),
        // the CRD's upper-case type names, as upstream sends them
        type: text(p['type']),
        accessMode: text(p['accessMode'] ?? 'ReadWrite'),
        minimum: text(p['minimum']),
        maximum: text(p['maximum']),
        unit: text(p['unit']),
      })),
      commands: [],
    },
  };
}

/** DMI Device of a membership entry. @throws DmiError when a configData value cannot be encoded */
export function toPbDevice(source: Record<string, unknown>): PbDevice {
  const id = dmiDeviceId(text(source['namespace']), text(source['name']));
  const protocol = isRecord(source['protocol']) ? source['protocol'] : {};
  const desired = new Map<string, string>();
  for (const p of records(source['properties'])) if (isRecord(p['desired']) && p['desired']['value'] !== undefined) desired.set(text(p['name']), text(p['desired']['value']));
  const visitors = new Map(records(source['propertyVisitors']).map((p) => [text(p['name']), p]));
  const names = [...new Set([...visitors.keys(), ...desired.keys()])];
  const properties = names.map((name): PbDeviceProperty => {
    const p = visitors.get(name) ?? {};
    const visitor = isRecord(p['visitors']) ? p['visitors'] : undefined;
    const wanted = desired.get(name);
    return {
      name,
      desired: wanted === undefined ? null : { value: wanted, metadata: {} },
      visitors:
        visitor === undefined
          ? null
          : {
              protocolName: text(visitor['protocolName'] ?? protocol['protocolName']),
              configData: encodeCustomizedValue(isRecord(visitor['configData']) ? visitor['configData'] : {}, `${id}.spec.properties.${name}.visitors.configData`),
            },
      reportCycle: int(p['reportCycle']),
      collectCycle: int(p['collectCycle']),
      // kedge: an absent reportToCloud means reported; proto3 cannot say "absent", so send true
      reportToCloud: p['reportToCloud'] !== false,
      pushMethod: isRecord(p['pushMethod']) ? toPbPushMethod(p['pushMethod']) : null,
    };
  });
  const stateReport = isRecord(source['stateReport']) ? source['stateReport'] : {};
  return {
    name: text(source['name']),
    namespace: text(source['namespace']),
    spec: {
      deviceModelReference: isRecord(source['model']) ? text(source['model']['name']) : '',
      protocol: {
        protocolName: text(protocol['protocolName']),
        configData: encodeCustomizedValue(isRecord(protocol['configData']) ? protocol['configData'] : {}, `${id}.spec.protocol.configData`),
      },
      properties,
      methods: records(source['methods']).map((m) => ({ name: text(m['name']), description: text(m['description']), propertyNames: Array.isArray(m['propertyNames']) ? m['propertyNames'].map(text) : [] })),
    },
    status: { twins: [], reportToCloud: stateReport['reportToCloud'] !== false, reportCycle: int(stateReport['reportCycle']) },
  };
}

function toPbPushMethod(push: Record<string, unknown>): PbPushMethod {
  const out: PbPushMethod = {};
  const http = push['http'];
  if (isRecord(http)) out.http = { hostname: text(http['hostName']), port: int(http['port']), requestpath: text(http['requestPath']), timeout: int(http['timeout']) };
  const mqtt = push['mqtt'];
  if (isRecord(mqtt)) out.mqtt = { address: text(mqtt['address']), topic: text(mqtt['topic']), qos: int(mqtt['qos']), retained: mqtt['retained'] === true };
  const otel = push['otel'];
  if (isRecord(otel)) out.otel = { endpointURL: text(otel['endpointURL']) };
  const db = push['dbMethod'];
  if (isRecord(db)) {
    const dbMethod: Record<string, unknown> = {};
    if (isRecord(db['influxdb2'])) dbMethod['influxdb2'] = db['influxdb2'];
    if (isRecord(db['redis'])) dbMethod['redis'] = db['redis'];
    if (isRecord(db['mysql'])) dbMethod['mysql'] = db['mysql'];
    const td = db['TDEngine'];
    if (isRecord(td)) dbMethod['tdengine'] = { tdEngineClientConfig: td['TDEngineClientConfig'] };
    out.dbMethod = dbMethod;
  }
  return out;
}

function fromPbPushMethod(push: PbPushMethod): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (push.http) out['http'] = { hostName: push.http.hostname, port: push.http.port, requestPath: push.http.requestpath, ...(push.http.timeout ? { timeout: push.http.timeout } : {}) };
  if (push.mqtt) out['mqtt'] = { address: push.mqtt.address, topic: push.mqtt.topic, qos: push.mqtt.qos, retained: push.mqtt.retained };
  if (push.otel) out['otel'] = { endpointURL: push.otel.endpointURL };
  if (push.dbMethod) {
    const db: Record<string, unknown> = {};
    for (const kind of ['influxdb2', 'redis', 'mysql'] as const) if (isRecord(push.dbMethod[kind])) db[kind] = push.dbMethod[kind];
    const td = push.dbMethod['tdengine'];
    if (isRecord(td)) db['TDEngine'] = { TDEngineClientConfig: td['tdEngineClientConfig'] };
    if (Object.keys(db).length > 0) out['dbMethod'] = db;
  }
  return out;
}

/** A device as kedge's mappers run it (the CRD shape of @kedge/mappers' Device and DeviceModel). */
export interface MappedDevice {
  device: {
    metadata: { name: string; namespace: string };
    spec: {
      deviceModelRef: { name: string };
      protocol: { protocolName: string; configData: Record<string, unknown> };
      properties: {
        name: string;
        desired?: { value: string };
        visitors?: { protocolName: string; configData: Record<string, unknown> };
        collectCycle?: number;
        reportCycle?: number;
        reportToCloud?: boolean;
        pushMethod?: Record<string, unknown>;
      }[];
      methods: { name: string; description?: string; propertyNames: string[] }[];
      stateReport?: { reportToCloud?: boolean; reportCycle?: number };
    };
  };
  model: {
    metadata: { name: string; namespace: string };
    spec: { properties: { name: string; description?: string; type: string; accessMode: 'ReadOnly' | 'ReadWrite'; minimum?: number; maximum?: number; unit?: string }[] };
  };
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Checks a Kubernetes name a peer sent. @throws DmiError INVALID_ARGUMENT */
export function checkName(value: unknown, field: string, optional = false): string {
  if (optional && (value === '' || value === undefined)) return '';
  if (typeof value !== 'string' || !NAME.test(value)) throw new DmiError('INVALID_ARGUMENT', `must be a Kubernetes name (lower-case alphanumerics, '-', '.'; at most 253), got ${shown(value)}`, field);
  return value;
}

/**
 * DMI Device (+ its DeviceModel) → what a kedge mapper runs. Only properties with visitors are mapped.
 * @throws DmiError INVALID_ARGUMENT naming the field of `field` (e.g. `device`) at fault
 */
export function fromPbDevice(device: PbDevice, model: PbDeviceModel | undefined, field: string): MappedDevice {
  const name = checkName(device.name, `${field}.name`);
  const namespace = checkName(device.namespace, `${field}.namespace`, true) || 'default';
  const spec = device.spec;
  if (spec === null) throw new DmiError('INVALID_ARGUMENT', 'is missing', `${field}.spec`);
  const protocolName = spec.protocol?.protocolName ?? '';
  if (protocolName === '') throw new DmiError('INVALID_ARGUMENT', 'is missing', `${field}.spec.protocol.protocolName`);
  if (model === undefined) throw new DmiError('FAILED_PRECONDITION', `device model ${shown(spec.deviceModelReference)} is not known to this mapper`, `${field}.spec.deviceModelReference`);
  const mapped: MappedDevice = {
    device: {
      metadata: { name, namespace },
      spec: {
        deviceModelRef: { name: spec.deviceModelReference },
        protocol: { protocolName, configData: decodeCustomizedValue(spec.protocol?.configData, `${field}.spec.protocol.configData`) },
        properties: spec.properties.map((p, i) => {
          const at = `${field}.spec.properties[${i}]`;
          const out: MappedDevice['device']['spec']['properties'][number] = { name: p.name, reportToCloud: p.reportToCloud };
          if (p.desired !== null && p.desired.value !== '') out.desired = { value: p.desired.value };
          if (p.visitors !== null) out.visitors = { protocolName: p.visitors.protocolName || protocolName, configData: decodeCustomizedValue(p.visitors.configData, `${at}.visitors.configData`) };
          if (p.collectCycle > 0) out.collectCycle = p.collectCycle;
          if (p.reportCycle > 0) out.reportCycle = p.reportCycle;
          if (p.pushMethod !== null) {
            const push = fromPbPushMethod(p.pushMethod);
            if (Object.keys(push).length > 0) out.pushMethod = push;
          }
          return out;
        }),
        methods: spec.methods.map((m) => ({ name: m.name, ...(m.description ? { description: m.description } : {}), propertyNames: [...m.propertyNames] })),
        ...(device.status !== null ? { stateReport: { reportToCloud: device.status.reportToCloud, ...(device.status.reportCycle > 0 ? { reportCycle: device.status.reportCycle } : {}) } } : {}),
      },
    },
    model: {
      metadata: { name: model.name, namespace },
      spec: {
        properties: (model.spec?.properties ?? []).map((p) => {
          const out: MappedDevice['model']['spec']['properties'][number] = { name: p.name, type: p.type.toLowerCase() || 'string', accessMode: p.accessMode === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite' };
          if (p.description) out.description = p.description;
          if (p.minimum !== '' && Number.isFinite(Number(p.minimum))) out.minimum = Number(p.minimum);
          if (p.maximum !== '' && Number.isFinite(Number(p.maximum))) out.maximum = Number(p.maximum);
          if (p.unit) out.unit = p.unit;
          return out;
        }),
      },
    },
  };
  return mapped;
}
