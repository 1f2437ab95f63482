// Value conversion by the model property's type, with the model's minimum/maximum enforced.
import { MapperError } from './errors';
import type { RawValue } from './driver';
import type { ModelProperty } from './model';

function checkRange(value: number, property: ModelProperty, device: string): void {
  if (property.minimum !== undefined && value < property.minimum) {
    throw new MapperError('VALUE_OUT_OF_RANGE', `${value} is below minimum ${property.minimum}`, { device, property: property.name });
  }
  if (property.maximum !== undefined && value > property.maximum) {
    throw new MapperError('VALUE_OUT_OF_RANGE', `${value} is above maximum ${property.maximum}`, { device, property: property.name });
  }
}

/** a raw device value → the typed value the model declares (throws on mismatch or out of range) */
export function toModelValue(raw: RawValue, property: ModelProperty, device: string): RawValue {
  switch (property.type) {
    case 'int':
    case 'float':
    case 'double': {
      const n = typeof raw === 'boolean' ? Number(raw) : typeof raw === 'number' ? raw : Number(raw.trim());
      if (typeof raw === 'string' && raw.trim() === '') {
        throw new MapperError('VALUE_INVALID', 'empty string is not a number', { device, property: property.name });
      }
      if (!Number.isFinite(n)) throw new MapperError('VALUE_INVALID', `${String(raw)} is not a number`, { device, property: property.name });
      const value = property.type === 'int' ? Math.round(n) : property.type === 'float' ? Math.fround(n) : n;
      checkRange(value, property, device);
      return value;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'number') return raw !== 0;
      const s = raw.trim().toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      throw new MapperError('VALUE_INVALID', `${raw} is not a boolean`, { device, property: property.name });
    }
    case 'string':
      return String(raw);
    default:
      throw new MapperError('UNSUPPORTED_TYPE', `model type ${String(property.type)}`, { device, property: property.name, field: 'type' });
  }
}

/** the string form twin messages carry (KubeEdge twin values are strings) */
export function toTwinString(value: RawValue, property: ModelProperty): string {
  if (property.type === 'float' && typeof value === 'number') return String(Number(value.toPrecision(7)));
  return String(value);
}

/** a desired value from a twin delta (a string) → a typed value ready for the driver */
export function parseDesired(value: string, property: ModelProperty, device: string): RawValue {
  return toModelValue(value, property, device);
}
