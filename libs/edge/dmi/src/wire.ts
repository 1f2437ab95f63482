// The DMI v1beta1 wire: the proto next to this package, loaded once with grpc-js's proto-loader, and the
// message shapes as proto-loader gives and takes them (field names exactly as in the proto, int64 as
// numbers: cycles in nanoseconds stay below 2^53).
import { join } from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';

export const PROTO_PATH = join(import.meta.dirname, '..', 'proto', 'dmi-v1beta1.proto');

const definition = loadSync([PROTO_PATH, 'google/protobuf/wrappers.proto', 'google/protobuf/struct.proto'], {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

export const deviceManagerService = definition['v1beta1.DeviceManagerService'] as unknown as ServiceDefinition;
export const deviceMapperService = definition['v1beta1.DeviceMapperService'] as unknown as ServiceDefinition;

/** serialize/deserialize of one message type, e.g. `google.protobuf.StringValue` */
export function messageType(name: string): MessageTypeDefinition<object, object> {
  const type = definition[name] as MessageTypeDefinition<object, object> | undefined;
  if (type === undefined || !('serialize' in type)) throw new Error(`${name} is not in the DMI proto set`);
  return type;
}

export interface PbAny {
  type_url: string;
  value: Buffer;
}
export interface PbCustomizedValue {
  data: Record<string, PbAny>;
}
export interface PbTwinProperty {
  value: string;
  metadata: Record<string, string>;
}
export interface PbModelProperty {
  name: string;
  description: string;
  type: string;
  accessMode: string;
  minimum: string;
  maximum: string;
  unit: string;
}
export interface PbDeviceModel {
  name: string;
  namespace: string;
  spec: { properties: PbModelProperty[]; commands: unknown[] } | null;
}
export interface PbPushMethod {
  http?: { hostname: string; port: number; requestpath: string; timeout: number } | null;
  mqtt?: { address: string; topic: string; qos: number; retained: boolean } | null;
  otel?: { endpointURL: string } | null;
  dbMethod?: Record<string, unknown> | null;
  anomalyDetection?: PbCustomizedValue | null;
}
export interface PbDeviceProperty {
  name: string;
  desired: PbTwinProperty | null;
  visitors: { protocolName: string; configData: PbCustomizedValue | null } | null;
  reportCycle: number;
  collectCycle: number;
  reportToCloud: boolean;
  pushMethod: PbPushMethod | null;
}
export interface PbTwin {
  propertyName: string;
  observedDesired: PbTwinProperty | null;
  reported: PbTwinProperty | null;
}
export interface PbDeviceStatus {
  twins: PbTwin[];
  reportToCloud: boolean;
  reportCycle: number;
}
export interface PbDevice {
  name: string;
  namespace: string;
  spec: {
    deviceModelReference: string;
    protocol: { protocolName: string; configData: PbCustomizedValue | null } | null;
    properties: PbDeviceProperty[];
    methods: { name: string; description: string; propertyNames: string[] }[];
  } | null;
  status: PbDeviceStatus | null;
}
export interface PbMapperInfo {
  name: string;
  version: string;
  api_version: string;
  protocol: string;
  address: Buffer;
  state: string;
}
export interface PbMapperRegisterRequest {
  withData: boolean;
  mapper: PbMapperInfo | null;
}
export interface PbMapperRegisterResponse {
  modelList: PbDeviceModel[];
  deviceList: PbDevice[];
}
export interface PbReportDeviceStatusRequest {
  deviceName: string;
  deviceNamespace: string;
  reportedDevice: PbDeviceStatus | null;
}
export interface PbReportDeviceStatesRequest {
  deviceName: string;
  deviceNamespace: string;
  state: string;
}
