// The device model, in the shape of KubeEdge's devices.kubeedge.io/v1beta1 DeviceModel and Device CRDs.
export type PropertyType = 'int' | 'float' | 'double' | 'boolean' | 'string';
export type AccessMode = 'ReadWrite' | 'ReadOnly';

export interface ModelProperty {
  name: string;
  description?: string;
  type: PropertyType;
  accessMode: AccessMode;
  minimum?: number;
  maximum?: number;
  unit?: string;
}

export interface DeviceModel {
  metadata: { name: string; namespace?: string };
  spec: { protocol?: string; properties: ModelProperty[] };
}

export interface Visitor {
  protocolName: string;
  configData: Record<string, unknown>;
}

export interface DeviceProperty {
  name: string;
  desired?: { value: string; metadata?: Record<string, string> };
  visitors: Visitor;
  /** ms between reads; default 1000 */
  collectCycle?: number;
  /** ms between twin reports; default 1000 */
  reportCycle?: number;
  reportToCloud?: boolean;
  pushMethod?: Record<string, unknown>;
}

export interface Device {
  metadata: { name: string; namespace?: string };
  spec: {
    deviceModelRef: { name: string };
    nodeName?: string;
    protocol: Visitor;
    properties: DeviceProperty[];
  };
}

/** What a driver is handed for one property: the visitor plus the model property it serves. */
export interface PropertyVisitor {
  device: string;
  property: ModelProperty;
  protocolName: string;
  configData: Record<string, unknown>;
}

/** KubeEdge (since v1.17) names devices on the MQTT API `<namespace>/<name>` */
export function deviceId(device: Pick<Device, 'metadata'>): string {
  return `${device.metadata.namespace ?? 'default'}/${device.metadata.name}`;
}
