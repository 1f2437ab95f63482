// TypeScript types of devices.kubeedge.io/v1beta1 DeviceModel and Device (the fields kedge uses), as
// @kedge/kube-core objects: the JSON the API server writes.
import type { KubeObject } from '@kedge/kube-core';

export interface DeviceModelProperty {
  name: string;
  description?: string;
  type: 'INT' | 'FLOAT' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'BYTES' | 'int' | 'float' | 'double' | 'boolean' | 'string' | 'bytes';
  accessMode?: 'ReadWrite' | 'ReadOnly';
  minimum?: string;
  maximum?: string;
  unit?: string;
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
  visitors?: { protocolName?: string; configData?: Record<string, unknown> };
  collectCycle?: number;
  reportCycle?: number;
  reportToCloud?: boolean;
  pushMethod?: Record<string, unknown>;
}

export interface DeviceSpec {
  deviceModelRef: { name: string };
  nodeName?: string;
  protocol?: { protocolName?: string; configData?: Record<string, unknown> };
  methods?: { name?: string; description?: string; propertyNames?: string[] }[];
  properties?: DeviceProperty[];
}

export interface DeviceTwin {
  propertyName: string;
  reported?: TwinProperty;
  observedDesired?: TwinProperty;
}

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
