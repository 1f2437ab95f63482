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
  /** KubeEdge 1.22: model-level visitor, used when the Device's property has none */
  visitors?: Visitor;
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
  /** how to reach the property; absent: the model property's visitors */
  visitors?: Visitor;
  /** between reads: nanoseconds (KubeEdge) if >= 1e6, else ms; default 1 s (see cycles.ts) */
  collectCycle?: number;
  /** between twin reports, same units; default 1 s */
  reportCycle?: number;
  /** false: read but not published on twin/update (KubeEdge: not reported to edgecore); default: published */
  reportToCloud?: boolean;
  pushMethod?: Record<string, unknown>;
  /**
   * kedge: write the desired value again on every twin delta (the device is held at it). Default false:
   * a desired value is written when it changes, as in KubeEdge, so a change made at the device stays.
   * From the Device annotation `devices.kedge.io/reassert-desired: "<prop>,<prop>"`.
   */
  reassertDesired?: boolean;
}



export interface Device {
  metadata: { name: string; namespace?: string };
  spec: {
    deviceModelRef: { name: string };
    nodeName?: string;
    protocol: Visitor;
    properties: DeviceProperty[];
    methods?: { name: string; description?: string; propertyNames?: string[] }[];
    /** device state reports: `reportToCloud: false` publishes none; `reportCycle` (units as collectCycle) re-publishes the state that often */
    stateReport?: { reportToCloud?: boolean; reportCycle?: number };
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
