// From the cloud's Device objects (as the DeviceTwin passes them on) to what a DeviceRunner runs: the
// protocol, the model and the property visitors of one member device. The twin store keeps no
// visitors, so these specs are the mapper manager's own state.
import { isRecord } from '@kedge/kube-core';
import type { Device, DeviceModel } from '../model';

/** What a mapper needs of one member device, as the cloud's membership carries it. */
export interface MapperSpec {
  namespace: string;
  name: string;
  model: { name: string; properties: Record<string, unknown>[] };
  protocol: { protocolName: string; configData: Record<string, unknown> };
  properties: {
    name: string;
    desired?: { value: string };
    visitors?: { protocolName?: string; configData?: Record<string, unknown> };
    collectCycle?: number;
    reportCycle?: number;
    reportToCloud?: boolean;
    reassertDesired?: boolean;
    pushMethod?: Record<string, unknown>;
  }[];
  methods: { name: string; propertyNames: string[] }[];
  stateReport?: { reportToCloud?: boolean; reportCycle?: number };
}

/** protocol names the cloud may use → the driver that serves them */
const PROTOCOLS: Record<string, string> = { modbus: 'modbus', bluetooth: 'bluetooth', ble: 'bluetooth', virtual: 'virtual', opcua: 'opcua' };

/** The spec of a Device object from the cloud (or the saved file); undefined when no built-in driver serves its protocol. */
export function mapperSpecOf(raw: unknown): MapperSpec | undefined {
  if (!isRecord(raw) || typeof raw['namespace'] !== 'string' || typeof raw['name'] !== 'string') return undefined;
  const protocol = raw['protocol'];
  const model = raw['model'];
  if (!isRecord(protocol) || typeof protocol['protocolName'] !== 'string' || !isRecord(model) || typeof model['name'] !== 'string') return undefined;
  if (PROTOCOLS[protocol['protocolName'].toLowerCase()] === undefined) return undefined;
  // membership: `properties` carries desired values, `propertyVisitors` how a mapper reaches each property
  const desired = new Map<string, unknown>();
  for (const p of Array.isArray(raw['properties']) ? raw['properties'].filter(isRecord) : []) desired.set(String(p['name']), p['desired']);
  const properties = (Array.isArray(raw['propertyVisitors']) ? raw['propertyVisitors'].filter(isRecord) : []).map((p) => {
    const wanted = desired.get(String(p['name']));
    return isRecord(wanted) && wanted['value'] !== undefined ? { ...p, desired: { value: String(wanted['value']) } } : p;
  });
  return {
    namespace: raw['namespace'],
    name: raw['name'],
    model: { name: model['name'], properties: Array.isArray(model['properties']) ? model['properties'].filter(isRecord) : [] },
    protocol: { protocolName: protocol['protocolName'], configData: isRecord(protocol['configData']) ? protocol['configData'] : {} },
    properties: properties as MapperSpec['properties'],
    methods: (Array.isArray(raw['methods']) ? raw['methods'].filter(isRecord) : []).flatMap((m) =>
      typeof m['name'] === 'string' && Array.isArray(m['propertyNames']) ? [{ name: m['name'], propertyNames: m['propertyNames'].filter((n): n is string => typeof n === 'string') }] : [],
    ),
    ...(isRecord(raw['stateReport']) ? { stateReport: stateReportOf(raw['stateReport']) } : {}),
  };
}

function stateReportOf(raw: Record<string, unknown>): NonNullable<MapperSpec['stateReport']> {
  const out: NonNullable<MapperSpec['stateReport']> = {};
  if (typeof raw['reportToCloud'] === 'boolean') out.reportToCloud = raw['reportToCloud'];
  if (typeof raw['reportCycle'] === 'number' && Number.isFinite(raw['reportCycle'])) out.reportCycle = raw['reportCycle'];
  return out;
}

/** The runner's Device and DeviceModel for a spec; only properties with visitors are mapped. */
export function mapperObjects(spec: MapperSpec): { device: Device; model: DeviceModel } {
  const protocolName = PROTOCOLS[spec.protocol.protocolName.toLowerCase()] ?? spec.protocol.protocolName;
  const model: DeviceModel = {
    metadata: { name: spec.model.name, namespace: spec.namespace },
    spec: {
      properties: spec.model.properties.map((p) => {
        const out: DeviceModel['spec']['properties'][number] = {
          name: String(p['name']),
          type: String(p['type'] ?? 'string').toLowerCase() as DeviceModel['spec']['properties'][number]['type'],
          accessMode: p['accessMode'] === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite',
        };
        if (p['minimum'] !== undefined && Number.isFinite(Number(p['minimum']))) out.minimum = Number(p['minimum']);
        if (p['maximum'] !== undefined && Number.isFinite(Number(p['maximum']))) out.maximum = Number(p['maximum']);
        if (typeof p['unit'] === 'string') out.unit = p['unit'];
        return out;
      }),
    },
  };
  const device: Device = {
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: {
      deviceModelRef: { name: spec.model.name },
      protocol: { protocolName, configData: spec.protocol.configData },
      properties: spec.properties
        .filter((p) => p.visitors !== undefined)
        .map((p) => {
          const out: Device['spec']['properties'][number] = {
            name: p.name,
            visitors: { protocolName: p.visitors?.protocolName ?? protocolName, configData: p.visitors?.configData ?? {} },
          };
          if (p.desired?.value !== undefined) out.desired = { value: String(p.desired.value) };
          if (typeof p.collectCycle === 'number') out.collectCycle = p.collectCycle;
          if (typeof p.reportCycle === 'number') out.reportCycle = p.reportCycle;
          if (typeof p.reportToCloud === 'boolean') out.reportToCloud = p.reportToCloud;
          if (p.reassertDesired === true) out.reassertDesired = true;
          if (p.pushMethod !== undefined) out.pushMethod = p.pushMethod;
          return out;
        }),
      methods: spec.methods,
      ...(spec.stateReport !== undefined ? { stateReport: spec.stateReport } : {}),
    },
  };
  return { device, model };
}

/** What a runner reads: a change restarts it; desired values and status-only resourceVersion bumps do not. */
export function fingerprint(spec: MapperSpec): string {
  return JSON.stringify({
    model: spec.model,
    protocol: spec.protocol,
    properties: spec.properties.map((p) => ({ ...p, desired: undefined })),
    methods: spec.methods,
    stateReport: spec.stateReport,
  });
}
