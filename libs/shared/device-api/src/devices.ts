// TypeScript types of devices.kubeedge.io/v1beta1 DeviceModel, Device and DeviceStatus (KubeEdge 1.23), as
// @kedge/kube-core objects: the JSON the API server writes. Cycles are milliseconds, as in KubeEdge.
import type { KubeObject } from '@kedge/kube-core';

export interface DeviceModelProperty {
  name: string;
  description?: string;
  type: 'INT' | 'FLOAT' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'BYTES' | 'int' | 'float' | 'double' | 'boolean' | 'string' | 'bytes';
  accessMode?: 'ReadWrite' | 'ReadOnly';
  minimum?: string;
  maximum?: string;
  unit?: string;
  /** KubeEdge 1.22: the model-level visitor, used by every Device that has none for this property */
  visitors?: VisitorConfig;
}

/** How a mapper reaches a property: the protocol and its free-form config. */
export interface VisitorConfig {
  protocolName?: string;
  configData?: Record<string, unknown>;
}

export interface DeviceModelSpec {
  protocol?: string;
  protocolConfigData?: Record<string, unknown>;
  properties?: DeviceModelProperty[];
}

export interface DeviceModel extends KubeObject {
  apiVersion?: 'devices.kubeedge.io/v1beta1';
  kind?: 'DeviceModel';
  spec?: DeviceModelSpec;
}

export interface TwinProperty {
  value?: string;
  metadata?: Record<string, string>;
}

export interface DeviceProperty {
  name: string;
  desired?: TwinProperty;
  /** overrides the model property's visitors */
  visitors?: VisitorConfig;
  /** ms between reads */
  collectCycle?: number;
  /** ms between reports */
  reportCycle?: number;
  /** false: the value stays on the edge (twin, MQTT) and is not sent to the cloud */
  reportToCloud?: boolean;
  pushMethod?: Record<string, unknown>;
}

export interface DeviceSpec {
  deviceModelRef: { name: string };
  nodeName?: string;
  protocol?: { protocolName?: string; configData?: Record<string, unknown> };
  methods?: DeviceMethod[];
  properties?: DeviceProperty[];
  stateReport?: { reportToCloud?: boolean; /** ms */ reportCycle?: number };
}

/** KubeEdge 1.19: a named command that writes the listed properties. */
export interface DeviceMethod {
  name?: string;
  description?: string;
  propertyNames?: string[];
}

export interface DeviceTwin {
  propertyName: string;
  reported?: TwinProperty;
  observedDesired?: TwinProperty;
}

/** Device.status: as up to KubeEdge 1.22; kedge keeps it as a mirror of the DeviceStatus object. */
export interface DeviceStatus {
  twins?: DeviceTwin[];
  state?: string;
  lastOnlineTime?: string;
  reportToCloud?: boolean;
  reportCycle?: number;
}

export interface Device extends KubeObject {
  apiVersion?: 'devices.kubeedge.io/v1beta1';
  kind?: 'Device';
  spec?: DeviceSpec;
  status?: DeviceStatus;
}

/** The DeviceStatus object's status (KubeEdge 1.23's DeviceStatusStatus). */
export interface DeviceStatusStatus {
  twins?: DeviceTwin[];
  state?: string;
  lastOnlineTime?: string;
  extensions?: Record<string, unknown>;
}

/** KubeEdge 1.23: the reported side of a Device, same name, owned by it. */
export interface DeviceStatusObject extends KubeObject {
  apiVersion?: 'devices.kubeedge.io/v1beta1';
  kind?: 'DeviceStatus';
  spec?: Record<string, never>;
  status?: DeviceStatusStatus;
}
