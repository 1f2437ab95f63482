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
export { DEFAULT_CYCLE_MS, NANOSECOND_CYCLE_THRESHOLD, cycleMs } from './cycles';
export { DeviceRunner, buildVisitors, type BackoffOptions, type DeviceRunnerOptions, type MethodResult } from './runner';
export { REASSERT_DESIRED_ANNOTATION, parseMapperConfig, type MapperConfig } from './config';
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
// the OPC UA driver and its variant conversion are not re-exported: importing them loads node-opcua (~60 MiB);
// tests import src/opcua/driver and src/opcua/variant
export { LazyOpcUaDriver } from './opcua/lazy-driver';
export { parseNodeId, parseOpcUaProtocol, SECURITY_MODES, SECURITY_POLICIES, type OpcUaProtocolConfig } from './opcua/config';
export { parsePushMethod, type HttpPush, type MqttPush, type ParsedPushMethod, type PushTargetConfig } from './push/push-method';
export { PushQueue, type PushMessage, type PushQueueOptions } from './push/pusher';
export { MapperMetrics } from './metrics';
export { DmiMapper, type DmiMapperOptions } from './dmi/dmi-mapper';
export { DmiTwinChannel } from './dmi/twin-channel';
