// The mapper's config file: DeviceModel and Device objects in the CRDs' shape, either as a multi-document YAML
// of `kind: DeviceModel` / `kind: Device` objects or as one document `{deviceModels: [...], devices: [...]}`.
import { isRecord } from '@kedge/kube-core';
import { parseAllDocuments } from 'yaml';
import { MapperError } from './errors';
import { deviceId, type Device, type DeviceModel } from './model';

export interface MapperConfig {
  deviceModels: DeviceModel[];
  devices: Device[];
}

/** Device annotation: comma-separated properties whose desired value is written on every delta. */
export const REASSERT_DESIRED_ANNOTATION = 'devices.kedge.io/reassert-desired';

const TYPES = ['int', 'float', 'double', 'boolean', 'string'];

function checkModel(m: unknown, i: number): DeviceModel {
  const where = `deviceModels[${i}]`;
  if (!isRecord(m) || !isRecord(m.metadata) || typeof m.metadata.name !== 'string') {
    throw new MapperError('CONFIG_INVALID', 'needs metadata.name', { field: `${where}.metadata.name` });
  }
  const spec = isRecord(m.spec) ? m.spec : {};
  if (!Array.isArray(spec.properties)) throw new MapperError('CONFIG_INVALID', 'needs spec.properties', { field: `${where}.spec.properties` });
  spec.properties.forEach((p: unknown, j: number) => {
    const f = `${where}.spec.properties[${j}]`;
    if (!isRecord(p) || typeof p.name !== 'string') throw new MapperError('CONFIG_INVALID', 'needs name', { field: `${f}.name` });
    if (typeof p.type === 'string') p.type = p.type.toLowerCase();
    if (!TYPES.includes(p.type as string)) throw new MapperError('UNSUPPORTED_TYPE', `type ${String(p.type)}`, { field: `${f}.type` });
    p.accessMode ??= 'ReadOnly';
    if (p.accessMode !== 'ReadWrite' && p.accessMode !== 'ReadOnly') throw new MapperError('CONFIG_INVALID', `accessMode ${String(p.accessMode)}`, { field: `${f}.accessMode` });
    for (const k of ['minimum', 'maximum'] as const) {
      if (typeof p[k] === 'string') p[k] = Number(p[k]);
      if (p[k] !== undefined && !Number.isFinite(p[k])) throw new MapperError('CONFIG_INVALID', `${k} is not a number`, { field: `${f}.${k}` });
    }
  });
  return m as unknown as DeviceModel;
}

function checkDevice(d: unknown, i: number): Device {
  const where = `devices[${i}]`;
  if (!isRecord(d) || !isRecord(d.metadata) || typeof d.metadata.name !== 'string') {
    throw new MapperError('CONFIG_INVALID', 'needs metadata.name', { field: `${where}.metadata.name` });
  }
  const id = deviceId(d as unknown as Device);
  const spec = d.spec;
  if (!isRecord(spec) || !isRecord(spec.deviceModelRef) || typeof spec.deviceModelRef.name !== 'string') {
    throw new MapperError('CONFIG_INVALID', 'needs spec.deviceModelRef.name', { device: id, field: 'spec.deviceModelRef.name' });
  }
  if (!isRecord(spec.protocol) || typeof spec.protocol.protocolName !== 'string') {
    throw new MapperError('CONFIG_INVALID', 'needs spec.protocol.protocolName', { device: id, field: 'spec.protocol.protocolName' });
  }
  spec.protocol.configData ??= {};
  if (!Array.isArray(spec.properties)) throw new MapperError('CONFIG_INVALID', 'needs spec.properties', { device: id, field: 'spec.properties' });
  const annotations = isRecord(d.metadata.annotations) ? d.metadata.annotations : {};
  const reassert = String(annotations[REASSERT_DESIRED_ANNOTATION] ?? '').split(',').map((n) => n.trim());
  for (const p of spec.properties) if (isRecord(p) && reassert.includes(String(p.name))) p.reassertDesired = true;
  return d as unknown as Device;
}

/** parses and checks a config; errors are MapperErrors naming the device and field */
export function parseMapperConfig(text: string): MapperConfig {
  const models: unknown[] = [];
  const devices: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if ('errors' in doc && doc.errors.length > 0) {
      throw new MapperError('CONFIG_INVALID', `YAML: ${doc.errors[0]?.message ?? 'parse error'}`, { field: 'yaml' });
    }
    const v: unknown = doc.toJS();
    if (!isRecord(v)) continue;
    if (v.kind === 'DeviceModel') models.push(v);
    else if (v.kind === 'Device') devices.push(v);
    if (Array.isArray(v.deviceModels)) models.push(...v.deviceModels);
    if (Array.isArray(v.devices)) devices.push(...v.devices);
  }
  return { deviceModels: models.map(checkModel), devices: devices.map(checkDevice) };
}
