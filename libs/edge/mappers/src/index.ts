// @kedge/mappers: the mapper SDK (ProtocolDriver, DeviceRunner, MapperHost), the Modbus, Bluetooth LE and
// virtual drivers, speaking KubeEdge's DeviceTwin MQTT API, and the MapperManager that runs them inside edgecore.
export { MapperError, isConnectionError, type MapperErrorCode, type MapperErrorContext } from './errors';
export {
  deviceId,
  type AccessMode,
  type Device,
  type DeviceModel,
  type DeviceProperty,
  type ModelProperty,
  type PropertyType,
  type PropertyVisitor,
  type Visitor,
} from './model';
export type { DriverFactory, ProtocolDriver, RawValue, SubscribeOptions } from './driver';
export { parseDesired, toModelValue, toTwinString } from './convert';
export {
  desiredFromDelta,
  stateUpdate,
  twinUpdate,
  type DeviceState,
  type StateUpdateMessage,
  type TwinDeltaMessage,
  type TwinUpdateMessage,
} from './twin';
export { DeviceRunner, buildVisitors, type BackoffOptions, type DeviceRunnerOptions } from './runner';
export { parseMapperConfig, type MapperConfig } from './config';
export { MapperHost, defaultDrivers, type MapperHostOptions } from './host';
export { MapperManager, type MapperManagerOptions } from './manager/mapper-manager';
export {
  DATA_TYPES,
  bytesToWords,
  decodeRegisters,
  encodeValue,
  registerCount,
  wordsToBytes,
  type CodecOptions,
  type ModbusDataType,
} from './modbus/codec';
export {
  ModbusDriver,
  parseModbusProtocol,
  parseModbusVisitor,
  type ModbusProtocolConfig,
  type ModbusTransport,
  type ModbusVisitor,
  type RegisterType,
} from './modbus/driver';
export { convertBleData, converterProblem, OPERATIONS, type DataConverter, type OperationType } from './ble/converter';
export { BleDriver, loadNoble, normalizeUuid, type BleDriverOptions, type NobleBindings } from './ble/driver';
export { VirtualDriver } from './virtual/driver';
export { OpcUaDriver } from './opcua/driver';
export { parseNodeId, parseOpcUaProtocol, SECURITY_MODES, SECURITY_POLICIES, type OpcUaProtocolConfig } from './opcua/config';
export { fromVariant, toVariant } from './opcua/variant';
export { parsePushMethod, type HttpPush, type MqttPush, type ParsedPushMethod, type PushTargetConfig } from './push/push-method';
export { PushQueue, type PushMessage, type PushQueueOptions } from './push/pusher';
export { MapperMetrics } from './metrics';
