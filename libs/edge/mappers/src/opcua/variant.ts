// OPC UA Variant ↔ RawValue. Reads keep the server's scalar (the runner converts it to the model type); writes
// are encoded in the node's own DataType, read once from the server, so an Int32 node gets an Int32.
import { DataType, type Variant } from 'node-opcua-client';
import type { RawValue } from '../driver';
import { MapperError } from '../errors';
import type { PropertyVisitor } from '../model';

const INTEGER_RANGES: Partial<Record<DataType, [number, number]>> = {
  [DataType.SByte]: [-128, 127],
  [DataType.Byte]: [0, 255],
  [DataType.Int16]: [-32768, 32767],
  [DataType.UInt16]: [0, 65535],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt32]: [0, 4294967295],
  [DataType.Int64]: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  [DataType.UInt64]: [0, Number.MAX_SAFE_INTEGER],
};

/** a read Variant → number | boolean | string; arrays, structures and nulls are refused naming the property */
export function fromVariant(variant: Variant, visitor: PropertyVisitor): RawValue {
  const { value, dataType } = variant;
  const where = { device: visitor.device, property: visitor.property.name, field: 'visitors.configData.nodeID' };
  if (variant.arrayType !== undefined && variant.arrayType !== 0) {
    throw new MapperError('UNSUPPORTED_TYPE', `node holds an array of ${DataType[dataType]}, not a scalar`, where);
  }
  switch (dataType) {
    case DataType.Boolean:
      return Boolean(value);
    case DataType.Float:
    case DataType.Double:
    case DataType.SByte:
    case DataType.Byte:
    case DataType.Int16:
    case DataType.UInt16:
    case DataType.Int32:
    case DataType.UInt32:
      return Number(value);
    case DataType.Int64:
    case DataType.UInt64: {
      // node-opcua gives 64-bit integers as [high, low] 32-bit words
      const [high, low] = value as [number, number];
      const n = high * 2 ** 32 + (low >>> 0);
      if (!Number.isSafeInteger(n)) throw new MapperError('VALUE_OUT_OF_RANGE', `64-bit value is beyond ±2^53`, where);
      return n;
    }
    case DataType.String:
      return String(value);
    case DataType.LocalizedText:
      return String((value as { text?: string } | null)?.text ?? '');
    case DataType.DateTime:
      return (value as Date).toISOString();
    case DataType.Null:
      throw new MapperError('VALUE_INVALID', 'node has no value (Null)', where);
    default:
      throw new MapperError('UNSUPPORTED_TYPE', `OPC UA type ${DataType[dataType]} has no model type`, where);
  }
}

/** a model-typed value → {dataType, value} for the node's DataType */
export function toVariant(value: RawValue, dataType: DataType, visitor: PropertyVisitor): { dataType: DataType; value: unknown } {
  const where = { device: visitor.device, property: visitor.property.name };
  if (dataType === DataType.Boolean) {
    if (typeof value === 'boolean') return { dataType, value };
    if (typeof value === 'number') return { dataType, value: value !== 0 };
    throw new MapperError('VALUE_INVALID', `${value} is not a boolean for a Boolean node`, where);
  }
  if (dataType === DataType.String) return { dataType, value: String(value) };
  const n = typeof value === 'boolean' ? Number(value) : Number(value);
  if (!Number.isFinite(n)) throw new MapperError('VALUE_INVALID', `${String(value)} is not a number for a ${DataType[dataType]} node`, where);
  if (dataType === DataType.Float || dataType === DataType.Double) return { dataType, value: n };
  const range = INTEGER_RANGES[dataType];
  if (range === undefined) throw new MapperError('UNSUPPORTED_TYPE', `cannot write OPC UA type ${DataType[dataType]}`, where);
  if (!Number.isInteger(n) || n < range[0] || n > range[1]) {
    throw new MapperError('VALUE_OUT_OF_RANGE', `${n} does not fit the node's ${DataType[dataType]}`, where);
  }
  if (dataType === DataType.Int64 || dataType === DataType.UInt64) return { dataType, value: [Math.floor(n / 2 ** 32), n >>> 0] };
  return { dataType, value: n };
}
