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
  /** how a mapper reaches each property (`spec.properties[].visitors`), for properties that have visitors */
  propertyVisitors?: PropertyVisitors[];
}

export interface PropertyVisitors {
  name: string;
  visitors: { protocolName?: string; configData?: Record<string, unknown> };
  collectCycle?: number;
  reportCycle?: number;
  /** where the mapper also pushes each collected value (KubeEdge's pushMethod) */
  pushMethod?: Record<string, unknown>;
}

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
  const visitors = (device.spec?.properties ?? []).flatMap((p) => {
    if (p.visitors === undefined) return [];
    const out: PropertyVisitors = { name: p.name, visitors: p.visitors };
    if (p.collectCycle !== undefined) out.collectCycle = p.collectCycle;
    if (p.reportCycle !== undefined) out.reportCycle = p.reportCycle;
    if (p.pushMethod !== undefined) out.pushMethod = p.pushMethod;
    return [out];
  });
  if (visitors.length > 0) entry.propertyVisitors = visitors;
  if (device.spec?.protocol !== undefined) entry.protocol = device.spec.protocol;
  return entry;
}

/** Numeric resourceVersion, 0 when absent or not decimal. */
export function versionOf(object: { metadata?: { resourceVersion?: string } }): bigint {
  const rv = object.metadata?.resourceVersion;
  return rv !== undefined && /^\d+$/.test(rv) ? BigInt(rv) : 0n;
}
