// @kedge/dmi: KubeEdge's Device Management Interface (DMI v1beta1 gRPC): edgecore's DeviceManager
// (DeviceManagerService on a unix socket, DeviceMapperService calls on registered mappers), the mapper
// side (MapperLink), the wire (proto, CustomizedValue) and the device conversions both sides share.
export { DeviceManager, type DeviceManagerOptions } from './device-manager';
export { MapperConnection, type DeviceMapperMethod, type MapperRegistration, type WantedDevice } from './mapper-connection';
export { MapperLink, type MapperLinkOptions, type MapperHandlers } from './mapper-link';
export { checkName, dmiDeviceId, fromPbDevice, protocolOf, toPbDevice, toPbModel, type MappedDevice } from './device-convert';
export { decodeAny, decodeCustomizedValue, encodeAny, encodeCustomizedValue } from './customized-value';
export { DmiError, type DmiErrorCode } from './errors';
export { DmiMetrics } from './metrics';
export { bindUnixSocket, socketAnswers, type UnixSocketOptions } from './unix-socket';
export {
  PROTO_PATH,
  deviceManagerService,
  deviceMapperService,
  type PbDevice,
  type PbDeviceModel,
  type PbDeviceProperty,
  type PbDeviceStatus,
  type PbMapperInfo,
  type PbMapperRegisterRequest,
  type PbMapperRegisterResponse,
  type PbReportDeviceStatesRequest,
  type PbReportDeviceStatusRequest,
  type PbTwin,
} from './wire';
