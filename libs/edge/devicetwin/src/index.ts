// @kedge/devicetwin: devices bound to this node and their twins (KubeEdge's devicetwin): a SQLite
// TwinStore, the DeviceTwin module serving KubeEdge's `$hw/events/...` MQTT API with typed,
// range-checked values, versions and client tokens, and the cloud sync of group `twin`.
export { DeviceTwin, type DeviceTwinOptions } from './device-twin';
export type { DevicesChangedEvent } from './cloud-sync';
export { BadMessageError, DeviceTwinError, StoreClosedError, type DeviceTwinErrorCode } from './errors';
export {
  DEVICE_STATES,
  PROPERTY_TYPES,
  type AccessMode,
  type DeviceRecord,
  type DeviceSpec,
  type DeviceState,
  type PropertySpec,
  type PropertyType,
  type TimedValue,
  type TwinState,
  type TwinValue,
} from './model';
export { parseDeviceSpec, parseDownMessage, type DownChange } from './down-message';
export type { MsgTwin, MsgValue } from './payloads';
export type { TwinBus } from './publisher';
export { TWIN_REPORT_TYPE, TWIN_SOURCE, type TwinReporter } from './reports';
export {
  TwinStore,
  type DeviceChange,
  type DeviceChangeReason,
  type MembershipResult,
  type ReportedUpdate,
  type ReportResult,
  type TwinChange,
  type TwinStoreOptions,
} from './store/twin-store';
export { MAX_VALUE_BYTES, formatValue, readValue } from './values';
export { DeviceMethodRelay, METHOD_RELAY_SOURCE, type DeviceMethodRelayOptions } from './method-relay';
