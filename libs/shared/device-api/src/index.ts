// @kedge/device-api: kedge's device API shared by cloud and edge: the CRDs DeviceModel and Device of
// devices.kubeedge.io/v1beta1 (as YAML manifests in ../crds) and their TypeScript types, and KubeEdge's
// `$hw/events/...` MQTT topic contract between mappers and the edge's DeviceTwin.
export { DEVICE_CRD_NAMES, DEVICES_API_VERSION, DEVICES_GROUP, DEVICES_VERSION, kedgeCrdManifests, type CrdManifest } from './crds';
export type {
  Device,
  DeviceMethod,
  DeviceModel,
  DeviceModelProperty,
  DeviceModelSpec,
  DeviceProperty,
  DeviceSpec,
  DeviceStatus,
  DeviceStatusObject,
  DeviceStatusStatus,
  DeviceTwin,
  TwinProperty,
  VisitorConfig,
} from './devices';
export {
  DEVICE_ACTIONS,
  DEVICE_TOPIC_PREFIX,
  HW_EVENTS_PREFIX,
  METHOD_INVOKE_FILTER,
  METHOD_RESULT_FILTER,
  NODE_TOPIC_PREFIX,
  deviceTopic,
  membershipTopic,
  methodTopic,
  parseRequestTopic,
  requestFilters,
  type DeviceAction,
  type DeviceTopicSuffix,
  type MembershipTopicSuffix,
  type RequestTopic,
} from './topics';
export {
  DEVICE_METHOD_GROUP,
  DEVICE_METHOD_OPERATION,
  DEVICE_METHOD_TYPE,
  readDeviceMethodCall,
  readDeviceMethodResult,
  type DeviceMethodCall,
  type DeviceMethodResult,
} from './method-call';
