// CustomizedValue (`map<string, google.protobuf.Any>`): how DMI carries a protocol's or a visitor's
// configData. Encoded as KubeEdge's edgecore does, so mapper-framework's DecodeAnyValue reads it:
// strings → StringValue, booleans → BoolValue, integers → Int32Value (Int64Value beyond int32),
// other numbers → FloatValue (upstream's choice: float32). Nested objects and arrays, which upstream
// cannot send at all, go as google.protobuf.Struct / ListValue (mapper-framework skips those keys).
import { DmiError, shown } from './errors';
import { messageType, type PbAny, type PbCustomizedValue } from './wire';

const PREFIX = 'type.googleapis.com/';
const MAX_DEPTH = 16;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** configData → CustomizedValue. @throws DmiError naming the key of a value that cannot be sent */
export function encodeCustomizedValue(data: Record<string, unknown>, field: string): PbCustomizedValue {
  const out: Record<string, PbAny> = {};
  for (const [key, value] of Object.entries(data)) out[key] = encodeAny(value, `${field}.${key}`);
  return { data: out };
}

/** CustomizedValue → configData. @throws DmiError naming the key whose Any is not a value kedge reads */
export function decodeCustomizedValue(value: PbCustomizedValue | null | undefined, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, any] of Object.entries(value?.data ?? {})) out[key] = decodeAny(any, `${field}.data.${key}`);
  return out;
}

function pack(type: string, message: object): PbAny {
  return { type_url: PREFIX + type, value: messageType(type).serialize(message) };
}

export function encodeAny(value: unknown, field: string): PbAny {
  switch (typeof value) {
    case 'string':
      return pack('google.protobuf.StringValue', { value });
    case 'boolean':
      return pack('google.protobuf.BoolValue', { value });
    case 'number':
      if (!Number.isFinite(value)) throw new DmiError('INVALID_ARGUMENT', `${shown(value)} is not a finite number`, field);
      if (Number.isInteger(value)) {
        if (value >= -(2 ** 31) && value < 2 ** 31) return pack('google.protobuf.Int32Value', { value });
        if (Number.isSafeInteger(value)) return pack('google.protobuf.Int64Value', { value });
      }
      return pack('google.protobuf.FloatValue', { value });
    case 'object':
      if (value !== null) return Array.isArray(value) ? pack('google.protobuf.ListValue', toListValue(value, field, 0)) : pack('google.protobuf.Struct', toStruct(value as Record<string, unknown>, field, 0));
      break;
    default:
      break;
  }
  throw new DmiError('INVALID_ARGUMENT', `${shown(value)} cannot be sent as a configData value`, field);
}

/** The shortest decimal that is the same float32, so 0.1 sent as FloatValue reads back as 0.1. */
function float32Decimal(value: number): number {
  for (let digits = 1; digits <= 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

export function decodeAny(any: PbAny | null | undefined, field: string): unknown {
  const typeUrl = typeof any?.type_url === 'string' ? any.type_url : '';
  const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  const bytes = any?.value ?? Buffer.alloc(0);
  let message: Record<string, unknown>;
  try {
    switch (type) {
      case 'google.protobuf.StringValue':
      case 'google.protobuf.BoolValue':
      case 'google.protobuf.Int32Value':
      case 'google.protobuf.Int64Value':
      case 'google.protobuf.UInt32Value':
      case 'google.protobuf.UInt64Value':
      case 'google.protobuf.DoubleValue':
      case 'google.protobuf.FloatValue':
      case 'google.protobuf.BytesValue':
      case 'google.protobuf.Struct':
      case 'google.protobuf.ListValue':
      case 'google.protobuf.Value':
        message = messageType(type).deserialize(bytes) as Record<string, unknown>;
        break;
      default:
        throw new DmiError('INVALID_ARGUMENT', `type ${shown(typeUrl)} is not a google.protobuf wrapper, Struct or Value`, `${field}.type_url`);
    }
  } catch (error) {
    if (error instanceof DmiError) throw error;
    throw new DmiError('INVALID_ARGUMENT', `is not a valid ${type}`, `${field}.value`, { cause: error });
  }
  switch (type) {
    case 'google.protobuf.FloatValue':
      return float32Decimal(Number(message['value']));
    case 'google.protobuf.Int64Value':
    case 'google.protobuf.UInt64Value': {
      const n = Number(message['value']);
      if (!Number.isSafeInteger(n)) throw new DmiError('INVALID_ARGUMENT', `${shown(message['value'])} is beyond ±2^53`, `${field}.value`);
      return n;
    }
    case 'google.protobuf.BytesValue':
      return Buffer.from(message['value'] as Buffer).toString('base64');
    case 'google.protobuf.Struct':
      return fromStruct(message, field, 0);
    case 'google.protobuf.ListValue':
      return fromListValue(message, field, 0);
    case 'google.protobuf.Value':
      return fromValue(message, field, 0);
    default:
      return message['value'];
  }
}

function toValue(value: unknown, field: string, depth: number): object {
  if (depth > MAX_DEPTH) throw new DmiError('INVALID_ARGUMENT', `nests deeper than ${MAX_DEPTH} levels`, field);
  if (value === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'number':
      if (!Number.isFinite(value)) throw new DmiError('INVALID_ARGUMENT', `${shown(value)} is not a finite number`, field);
      return { numberValue: value };
    case 'object':
      return Array.isArray(value) ? { listValue: toListValue(value, field, depth + 1) } : { structValue: toStruct(value as Record<string, unknown>, field, depth + 1) };
    default:
      throw new DmiError('INVALID_ARGUMENT', `${shown(value)} cannot be sent as a configData value`, field);
  }
}

function toStruct(value: Record<string, unknown>, field: string, depth: number): object {
  const fields: Record<string, object> = {};
  for (const [key, item] of Object.entries(value)) fields[key] = toValue(item, `${field}.${key}`, depth);
  return { fields };
}

function toListValue(value: unknown[], field: string, depth: number): object {
  return { values: value.map((item, index) => toValue(item, `${field}[${index}]`, depth)) };
}

function fromValue(message: Record<string, unknown>, field: string, depth: number): Json {
  if (depth > MAX_DEPTH) throw new DmiError('INVALID_ARGUMENT', `nests deeper than ${MAX_DEPTH} levels`, field);
  switch (message['kind']) {
    case 'stringValue':
      return String(message['stringValue']);
    case 'boolValue':
      return message['boolValue'] === true;
    case 'numberValue':
      return Number(message['numberValue']);
    case 'structValue':
      return fromStruct(message['structValue'] as Record<string, unknown>, field, depth + 1);
    case 'listValue':
      return fromListValue(message['listValue'] as Record<string, unknown>, field, depth + 1);
    default:
      return null;
  }
}

function fromStruct(message: Record<string, unknown>, field: string, depth: number): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const [key, item] of Object.entries((message['fields'] ?? {}) as Record<string, Record<string, unknown>>)) out[key] = fromValue(item, `${field}.${key}`, depth);
  return out;
}

function fromListValue(message: Record<string, unknown>, field: string, depth: number): Json[] {
  return ((message['values'] ?? []) as Record<string, unknown>[]).map((item, index) => fromValue(item, `${field}[${index}]`, depth));
}
