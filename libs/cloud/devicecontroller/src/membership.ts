// What a node is sent: the devicetwin membership list (see libs/edge/devicetwin/README.md), built from
// the informers' caches. Devices whose DeviceModel does not exist yet are left out until it does.
import type { Device, DeviceModel } from '@kedge/device-api';

export interface MembershipDevice {
  namespace: string;
  name: string;
  resourceVersion: string;
  description: string;
  model: { name: string; properties: unknown[] };
  attributes: Record<string, string>;
  /** the Device's protocol (for mappers on the edge), when set */
  protocol?: { protocolName?: string; configData?: Record<string, unknown> };
  properties: { name: string; desired: { value: string; metadata: Record<string, string> } }[];
  /** how a mapper reaches each property (the Device's `spec.properties[].visitors`, else the model's), for properties that have visitors */
  propertyVisitors?: PropertyVisitors[];
  /** the Device's named commands (`spec.methods`) */
  methods?: { name: string; description?: string; propertyNames: string[] }[];
  /** `spec.stateReport` */
  stateReport?: { reportToCloud?: boolean; reportCycle?: number };
}

export interface PropertyVisitors {
  name: string;
  visitors: { protocolName?: string; configData?: Record<string, unknown> };
  collectCycle?: number;
  reportCycle?: number;
  reportToCloud?: boolean;
  /** kedge: the mapper writes the desired value on every delta (annotation `devices.kedge.io/reassert-desired`) */
  reassertDesired?: boolean;
  /** where the mapper also pushes each collected value (KubeEdge's pushMethod) */
  pushMethod?: Record<string, unknown>;
}

/** Device annotation: comma-separated property names whose desired value the mapper re-asserts. */
export const REASSERT_DESIRED_ANNOTATION = 'devices.kedge.io/reassert-desired';

export interface Membership {
  resourceVersion: string;
  devices: MembershipDevice[];
}

export interface DeviceCaches {
  devices: { list(): readonly Device[] };
  models: { get(name: string, namespace?: string): DeviceModel | undefined };
}

const DESCRIPTION_ANNOTATION = 'devices.kubeedge.io/description';

export function membershipOf(node: string, caches: DeviceCaches, listVersion: bigint): Membership {
  const devices: MembershipDevice[] = [];
  for (const device of caches.devices.list()) {
    if (device.spec?.nodeName !== node) continue;
    const entry = deviceEntry(device, caches);
    if (entry !== undefined) devices.push(entry);
  }
  devices.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return { resourceVersion: listVersion.toString(), devices };
}

export function deviceEntry(device: Device, caches: DeviceCaches): MembershipDevice | undefined {
  const namespace = device.metadata?.namespace ?? 'default';
  const modelName = device.spec?.deviceModelRef?.name;
  if (modelName === undefined) return undefined;
  const model = caches.models.get(modelName, namespace);
  if (model === undefined) return undefined;
  const properties = (model.spec?.properties ?? []).map((p) => {
    const out: Record<string, unknown> = { name: p.name, type: p.type, accessMode: p.accessMode ?? 'ReadWrite' };
    if (p.minimum !== undefined) out['minimum'] = p.minimum;
    if (p.maximum !== undefined) out['maximum'] = p.maximum;
    if (p.unit !== undefined) out['unit'] = p.unit;
    if (p.description !== undefined) out['description'] = p.description;
    return out;
  });
  const entry: MembershipDevice = {
    namespace,
    name: device.metadata?.name ?? '',
    resourceVersion: device.metadata?.resourceVersion ?? '0',
    description: device.metadata?.annotations?.[DESCRIPTION_ANNOTATION] ?? '',
    model: { name: modelName, properties },
    attributes: { ...(device.metadata?.labels ?? {}) },
    properties: (device.spec?.properties ?? [])
      .filter((p) => p.desired?.value !== undefined && p.desired.value !== '')
      .map((p) => ({ name: p.name, desired: { value: p.desired?.value ?? '', metadata: { ...(p.desired?.metadata ?? {}) } } })),
  };
  const visitors = effectiveVisitors(device, model);
  if (visitors.length > 0) entry.propertyVisitors = visitors;
  const protocol = effectiveProtocol(device, model);
  if (protocol !== undefined) entry.protocol = protocol;
  const methods = (device.spec?.methods ?? []).flatMap((m) => (m.name ? [{ name: m.name, ...(m.description ? { description: m.description } : {}), propertyNames: [...(m.propertyNames ?? [])] }] : []));
  if (methods.length > 0) entry.methods = methods;
  if (device.spec?.stateReport !== undefined) entry.stateReport = { ...device.spec.stateReport };
  return entry;
}

/**
 * KubeEdge 1.22: a DeviceModel may carry `protocolConfigData` and per-property `visitors`; the Device
 * overrides them. The protocol name is the Device's, else the model's `protocol`; configData is the
 * model's with the Device's keys on top.
 */
export function effectiveProtocol(device: Device, model: DeviceModel): MembershipDevice['protocol'] {
  const own = device.spec?.protocol;
  const modelConfig = model.spec?.protocolConfigData;
  if (own === undefined && modelConfig === undefined) return undefined;
  const protocolName = own?.protocolName ?? model.spec?.protocol;
  const configData = { ...(modelConfig ?? {}), ...(own?.configData ?? {}) };
  return { ...(protocolName !== undefined ? { protocolName } : {}), configData };
}

/** Per property: the Device's visitors, else the model property's; cycles and reportToCloud from the Device. */
export function effectiveVisitors(device: Device, model: DeviceModel): PropertyVisitors[] {
  const own = new Map((device.spec?.properties ?? []).map((p) => [p.name, p]));
  const reassert = new Set((device.metadata?.annotations?.[REASSERT_DESIRED_ANNOTATION] ?? '').split(',').map((n) => n.trim()));
  const names = [...new Set([...(model.spec?.properties ?? []).map((p) => p.name), ...own.keys()])];
  return names.flatMap((name) => {
    const p = own.get(name);
    const visitors = p?.visitors ?? model.spec?.properties?.find((m) => m.name === name)?.visitors;
    if (visitors === undefined) return [];
    const out: PropertyVisitors = { name, visitors };
    if (p?.collectCycle !== undefined) out.collectCycle = p.collectCycle;
    if (p?.reportCycle !== undefined) out.reportCycle = p.reportCycle;
    if (p?.reportToCloud !== undefined) out.reportToCloud = p.reportToCloud;
    if (reassert.has(name)) out.reassertDesired = true;
    if (p?.pushMethod !== undefined) out.pushMethod = p.pushMethod;
    return [out];
  });
}

/** Numeric resourceVersion, 0 when absent or not decimal. */
export function versionOf(object: { metadata?: { resourceVersion?: string } }): bigint {
  const rv = object.metadata?.resourceVersion;
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : 0n;
}
