// @kedge/device-api: kedge's API types shared by cloud and edge: the CRDs DeviceModel and Device of
// devices.kubeedge.io/v1beta1 (as YAML manifests in ../crds) and their TypeScript types.
export { DEVICE_CRD_NAMES, DEVICES_API_VERSION, DEVICES_GROUP, DEVICES_VERSION, kedgeCrdManifests, type CrdManifest } from './crds';
export type {
  Device,
  DeviceModel,
  DeviceModelProperty,
  DeviceModelSpec,
  DeviceProperty,
  DeviceSpec,
  DeviceStatus,
  DeviceTwin,
  TwinProperty,
  ObjectMeta,
} from './devices';
