// Typed twin values. Input may be KubeEdge's string form ("21.5", "true") or typed JSON (21.5,
// true); either is checked against the property's type and limits and held typed, so a twin never
// holds a value its model forbids. Output keeps KubeEdge's string form in `value` for existing
// clients, with the typed value beside it.
import { DeviceTwinError, shown } from './errors';
import { PROPERTY_TYPES, type AccessMode, type PropertySpec, type PropertyType, type TwinValue } from './model';

/** Longest string form of a value (KubeEdge allows 512 bytes; bytes properties need more). */
export const MAX_VALUE_BYTES = 8 * 1024;
const MAX_FLOAT32 = 3.4028234663852886e38;
const INTEGER = /^[+-]?\d{1,16}$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function wrongType(field: string, property: PropertySpec, raw: unknown, hint = ''): DeviceTwinError {
  return new DeviceTwinError('WRONG_TYPE', `${shown(raw)} is not a valid ${property.type} for property "${property.name}"${hint}`, field);
}

function readNumber(raw: unknown, property: PropertySpec, field: string): number {
  let value: number;
  const text = typeof raw === 'string' ? raw.trim() : undefined;
  if (typeof raw === 'number') value = raw;
  else if (text !== undefined && (property.type === 'int' ? INTEGER : DECIMAL).test(text)) value = Number(text);
  else throw wrongType(field, property, raw);
  if (!Number.isFinite(value)) throw wrongType(field, property, raw);
  if (property.type === 'int' && !Number.isInteger(value)) throw wrongType(field, property, raw, ' (not a whole number)');
  if (property.type === 'int' && !Number.isSafeInteger(value)) {
    throw new DeviceTwinError('OUT_OF_RANGE', `${shown(raw)} is beyond ±(2^53-1), the integers kedge holds exactly`, field);
  }
  if (property.type === 'float' && Math.abs(value) > MAX_FLOAT32) throw new DeviceTwinError('OUT_OF_RANGE', `${shown(raw)} does not fit a 32-bit float`, field);
  if (property.minimum !== undefined && value < property.minimum) {
    throw new DeviceTwinError('OUT_OF_RANGE', `${value} is below the minimum ${property.minimum} of property "${property.name}"`, field);
  }
  if (property.maximum !== undefined && value > property.maximum) {
    throw new DeviceTwinError('OUT_OF_RANGE', `${value} is above the maximum ${property.maximum} of property "${property.name}"`, field);
  }
  return value;
}

function readBoolean(raw: unknown, property: PropertySpec, field: string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    if (text === 'true' || text === '1') return true;
    if (text === 'false' || text === '0') return false;
  }
  throw wrongType(field, property, raw, ' (true, false, "true", "false", "1" or "0")');
}

function readText(raw: unknown, property: PropertySpec, field: string): string {
  if (typeof raw !== 'string') throw wrongType(field, property, raw, ' (a string is expected)');
  if (Buffer.byteLength(raw) > MAX_VALUE_BYTES) throw new DeviceTwinError('OUT_OF_RANGE', `value is longer than ${MAX_VALUE_BYTES} bytes`, field);
  if (property.type === 'bytes' && (raw.length % 4 !== 0 || !BASE64.test(raw))) throw wrongType(field, property, raw, ' (base64 is expected)');
  return raw;
}

/**
 * Reads a value for `property` from KubeEdge's string form or typed JSON.
 * @throws DeviceTwinError WRONG_TYPE or OUT_OF_RANGE naming `field`
 */
export function readValue(raw: unknown, property: PropertySpec, field: string): TwinValue {
  switch (property.type) {
    case 'int':
    case 'float':
    case 'double':
      return readNumber(raw, property, field);
    case 'boolean':
      return readBoolean(raw, property, field);
    default:
      return readText(raw, property, field);
  }
}

/** Whether a held value is still allowed after the model changed (type, limits). */
export function stillValid(value: TwinValue, property: PropertySpec): boolean {
  try {
    readValue(value, property, 'value');
    return true;
  } catch {
    return false;
  }
}

/** KubeEdge's string form: "20", "21.5", "true", the text, or the base64. */
export function formatValue(value: TwinValue): string {
  return typeof value === 'string' ? value : String(value);
}

export function sameValue(a: TwinValue | undefined, b: TwinValue | undefined): boolean {
  return a === b;
}

/** Reads a model type: KubeEdge's CRD spells them upper case (INT, FLOAT...), twin metadata lower case. */
export function readPropertyType(raw: unknown, field: string): PropertyType {
  const text = typeof raw === 'string' ? raw.toLowerCase() : raw;
  if (typeof text === 'string' && (PROPERTY_TYPES as readonly string[]).includes(text)) return text as PropertyType;
  throw new DeviceTwinError('BAD_FIELD', `${shown(raw)} is not one of ${PROPERTY_TYPES.join(', ')}`, field);
}

export function readAccessMode(raw: unknown, field: string): AccessMode {
  if (raw === undefined || raw === 'ReadWrite') return 'ReadWrite';
  if (raw === 'ReadOnly') return 'ReadOnly';
  throw new DeviceTwinError('BAD_FIELD', `${shown(raw)} is not ReadWrite or ReadOnly`, field);
}

/** A limit given as a number or a numeric string (v1beta1 DeviceModel spells them as strings). */
export function readLimit(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'string' && DECIMAL.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DeviceTwinError('BAD_FIELD', `${shown(raw)} is not a number`, field);
  return value;
}
