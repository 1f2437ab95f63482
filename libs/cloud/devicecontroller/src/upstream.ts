// Edge → cloud: `update node/<node>/<ns>/twin/<name>` carries a device's whole reported state (see
// libs/edge/devicetwin/README.md). It is merged into Device.status through the status subresource.
import type { Device, DeviceTwin } from '@kedge/device-api';
import { DEVICES_GROUP, DEVICES_VERSION } from '@kedge/device-api';
import { mergePatch } from '@kedge/kube-client';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { TwinRefusedError } from './errors';

export interface TwinReport {
  state?: unknown;
  last_online?: unknown;
  twin?: Record<string, { actual?: { value?: unknown; typed_value?: unknown; metadata?: { timestamp?: unknown } }; metadata?: { type?: unknown } }>;
}

export interface StatusPatch {
  twins: DeviceTwin[];
  state?: string;
  lastOnlineTime?: string;
}

/** Builds the new status from a report and the device's desired values. @throws TwinRefusedError */
export function statusFromReport(device: Device, content: unknown): StatusPatch {
  if (typeof content !== 'object' || content === null || Array.isArray(content)) throw new TwinRefusedError('invalid', 'content: not an object');
  const report = content as TwinReport;
  const twin = report.twin ?? {};
  if (typeof twin !== 'object' || Array.isArray(twin)) throw new TwinRefusedError('invalid', 'content.twin: not an object');
  const desired = new Map((device.spec?.properties ?? []).map((p) => [p.name, p.desired]));
  const names = new Set([...Object.keys(twin), ...desired.keys()]);
  const twins: DeviceTwin[] = [];
  for (const propertyName of [...names].sort()) {
    const entry: DeviceTwin = { propertyName };
    const reported = twin[propertyName];
    const value = reported?.actual?.value;
    if (value !== undefined && value !== null) {
      const metadata: Record<string, string> = {};
      if (typeof reported?.metadata?.type === 'string') metadata['type'] = reported.metadata.type;
      const ts = reported?.actual?.metadata?.timestamp;
      if (typeof ts === 'number' || typeof ts === 'string') metadata['timestamp'] = String(ts);
      entry.reported = { value: typeof value === 'string' ? value : JSON.stringify(value), metadata };
    }
    const wanted = desired.get(propertyName);
    if (wanted?.value !== undefined) entry.observedDesired = { value: wanted.value, metadata: { ...(wanted.metadata ?? {}) } };
    if (entry.reported !== undefined || entry.observedDesired !== undefined) twins.push(entry);
  }
  const status: StatusPatch = { twins };
  if (typeof report.state === 'string' && report.state !== '') status.state = report.state;
  if (typeof report.last_online === 'string' && report.last_online !== '') status.lastOnlineTime = report.last_online;
  return status;
}

export class DeviceStatusWriter {
  private readonly api: CustomObjectsApi;
  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async patch(namespace: string, name: string, status: StatusPatch): Promise<Device> {
    return (await this.api.patchNamespacedCustomObjectStatus(
      { group: DEVICES_GROUP, version: DEVICES_VERSION, namespace, plural: 'devices', name, body: { status } },
      mergePatch(),
    )) as Device;
  }
}
