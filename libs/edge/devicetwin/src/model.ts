// The device model as the twin sees it: typed properties with access mode and limits, and the
// records the store returns.

export const PROPERTY_TYPES = ['int', 'float', 'double', 'boolean', 'string', 'bytes'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];
export type AccessMode = 'ReadWrite' | 'ReadOnly';
export const DEVICE_STATES = ['online', 'offline', 'unknown'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

export interface PropertySpec {
  name: string;
  type: PropertyType;
  accessMode: AccessMode;
  /** numeric types only */
  minimum?: number;
  maximum?: number;
  unit?: string;
  description?: string;
}

/** A value as the twin holds it: int/float/double → number, boolean → boolean, string → string, bytes → base64 string. */
export type TwinValue = number | boolean | string;

export interface TimedValue {
  value: TwinValue;
  /** unix ms when the edge accepted it */
  timestamp: number;
}

export interface TwinState {
  name: string;
  property: PropertySpec;
  /** desired, set only by the cloud */
  desired?: TimedValue;
  /** reported, set only by mappers and apps on the edge */
  reported?: TimedValue;
  /** bumped on every change of desired or reported; updates may name it to guard against lost updates */
  version: number;
}

export interface DeviceRecord {
  /** `<namespace>/<name>`, the device id in topics */
  id: string;
  namespace: string;
  name: string;
  description: string;
  /** the DeviceModel's name */
  model: string;
  /** the Device's Kubernetes resourceVersion, decimal */
  resourceVersion: string;
  state: DeviceState;
  /** unix ms of the last `online` state report, if any */
  lastOnline: number | undefined;
  attributes: Record<string, string>;
  /** sorted by name */
  twins: TwinState[];
}

/** What the cloud sends for one device (see README, "Down messages"). Values already checked. */
export interface DeviceSpec {
  namespace: string;
  name: string;
  resourceVersion: bigint;
  description: string;
  model: string;
  properties: PropertySpec[];
  attributes: Record<string, string>;
  /** desired value per property name; a property absent here has no desired value */
  desired: Map<string, TwinValue>;
}

export function deviceId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
