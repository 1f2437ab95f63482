// Edge → cloud: `update node/<node>/<ns>/twin/<name>` carries a device's whole reported state (see
// libs/edge/devicetwin/README.md). It is written to the Device's DeviceStatus object (KubeEdge 1.23),
// created on the first report with an ownerReference to the Device, and mirrored into Device.status
// (status subresource) for clients of KubeEdge <= 1.22 while the mirror is on.
import type { Device, DeviceStatusObject, DeviceTwin } from '@kedge/device-api';
import { DEVICES_API_VERSION, DEVICES_GROUP, DEVICES_VERSION } from '@kedge/device-api';
import { isConflict, isNotFound, mergePatch } from '@kedge/kube-client';
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
  // `reportToCloud: false` keeps a property's value on the edge: it is not stored in the cloud
  const edgeOnly = new Set((device.spec?.properties ?? []).filter((p) => p.reportToCloud === false).map((p) => p.name));
  const names = new Set([...Object.keys(twin), ...desired.keys()]);
  const twins: DeviceTwin[] = [];
  for (const propertyName of [...names].sort()) {
    const entry: DeviceTwin = { propertyName };
    const reported = edgeOnly.has(propertyName) ? undefined : twin[propertyName];
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
  // `spec.stateReport.reportToCloud: false` keeps the device state on the edge
  if (device.spec?.stateReport?.reportToCloud === false) return status;
  if (typeof report.state === 'string' && report.state !== '') status.state = report.state;
  if (typeof report.last_online === 'string' && report.last_online !== '') status.lastOnlineTime = report.last_online;
  return status;
}

export interface DeviceStatusWriterOptions {
  /** also write Device.status (the KubeEdge <= 1.22 place); default true */
  mirrorToDevice?: boolean;
}

export class DeviceStatusWriter {
  private readonly api: CustomObjectsApi;
  private readonly mirror: boolean;
  constructor(kubeConfig: KubeConfig, options: DeviceStatusWriterOptions = {}) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.mirror = options.mirrorToDevice ?? true;
  }

  /** Writes the DeviceStatus (creating it, owned by the Device, if missing), then the mirror. */
  async write(device: Device, status: StatusPatch): Promise<void> {
    const namespace = device.metadata?.namespace ?? 'default';
    const name = device.metadata?.name ?? '';
    await this.writeDeviceStatus(device, namespace, name, status);
    if (this.mirror) {
      await this.api.patchNamespacedCustomObjectStatus(
        { group: DEVICES_GROUP, version: DEVICES_VERSION, namespace, plural: 'devices', name, body: { status } },
        mergePatch(),
      );
    }
  }

  /** Deletes a Device's DeviceStatus; the owner reference would too, this does not wait for a garbage collector. */
  async remove(namespace: string, name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedCustomObject({ group: DEVICES_GROUP, version: DEVICES_VERSION, namespace, plural: 'devicestatuses', name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async writeDeviceStatus(device: Device, namespace: string, name: string, status: StatusPatch): Promise<void> {
    const patch = () =>
      this.api.patchNamespacedCustomObject({ group: DEVICES_GROUP, version: DEVICES_VERSION, namespace, plural: 'devicestatuses', name, body: { status } }, mergePatch());
    try {
      await patch();
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const body: DeviceStatusObject = {
      apiVersion: DEVICES_API_VERSION,
      kind: 'DeviceStatus',
      metadata: {
        name,
        namespace,
        ownerReferences: [{ apiVersion: DEVICES_API_VERSION, kind: 'Device', name, uid: device.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
      },
      spec: {},
      status,
    };
    try {
      await this.api.createNamespacedCustomObject({ group: DEVICES_GROUP, version: DEVICES_VERSION, namespace, plural: 'devicestatuses', body });
    } catch (error) {
      // another report created it first: write over it
      if (!isConflict(error)) throw error;
      await patch();
    }
  }
}
