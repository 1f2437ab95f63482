// Pure Modbus register ↔ value conversion, following KubeEdge's mappers-go semantics: isRegisterSwap reverses the
// order of 16-bit words, isSwap swaps the two bytes inside each word, then the bytes are read big-endian.
export type ModbusDataType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'string';

export const DATA_TYPES: readonly ModbusDataType[] = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string'];

export interface CodecOptions {
  dataType: ModbusDataType;
  /** swap the two bytes inside each 16-bit register */
  isSwap?: boolean;
  /** reverse the order of the registers */
  isRegisterSwap?: boolean;
  /** value = raw × scale + valueOffset (numeric types) */
  scale?: number;
  valueOffset?: number;
  /** registers a string occupies (2 bytes each) */
  limit?: number;
}

/** registers a data type occupies; strings take `limit` */
export function registerCount(dataType: ModbusDataType, limit = 1): number {
  switch (dataType) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
    case 'string':
      return limit;
  }
}

function ordered(words: readonly number[], o: CodecOptions): number[] {
  const w = o.isRegisterSwap ? [...words].reverse() : [...words];
  return o.isSwap ? w.map((x) => ((x & 0xff) << 8) | ((x >> 8) & 0xff)) : w;
}

/** registers as received → big-endian bytes after the configured swaps */
export function wordsToBytes(words: readonly number[], o: Pick<CodecOptions, 'isSwap' | 'isRegisterSwap'> = {}): Buffer {
  const w = ordered(words, { dataType: 'uint16', ...o });
  const buf = Buffer.alloc(w.length * 2);
  w.forEach((x, i) => buf.writeUInt16BE(x & 0xffff, i * 2));
  return buf;
}

/** inverse of wordsToBytes: big-endian bytes → registers as they go on the wire */
export function bytesToWords(bytes: Buffer, o: Pick<CodecOptions, 'isSwap' | 'isRegisterSwap'> = {}): number[] {
  const w: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) w.push(bytes.readUInt16BE(i));
  // both swaps are involutions and commute, so applying them again undoes them
  return ordered(w, { dataType: 'uint16', ...o });
}

function applyScale(raw: number, o: CodecOptions): number {
  const scale = o.scale ?? 1;
  const offset = o.valueOffset ?? 0;
  return scale === 1 && offset === 0 ? raw : raw * scale + offset;
}

/** registers → value */
export function decodeRegisters(words: readonly number[], o: CodecOptions): number | boolean | string {
  const need = registerCount(o.dataType, o.limit);
  if (words.length < need) throw new RangeError(`${o.dataType} needs ${need} registers, got ${words.length}`);
  const bytes = wordsToBytes(words.slice(0, need), o);
  switch (o.dataType) {
    case 'bool':
      return bytes.readUInt16BE(0) !== 0;
    case 'int16':
      return applyScale(bytes.readInt16BE(0), o);
    case 'uint16':
      return applyScale(bytes.readUInt16BE(0), o);
    case 'int32':
      return applyScale(bytes.readInt32BE(0), o);
    case 'uint32':
      return applyScale(bytes.readUInt32BE(0), o);
    case 'float32':
      return applyScale(bytes.readFloatBE(0), o);
    case 'float64':
      return applyScale(bytes.readDoubleBE(0), o);
    case 'string':
      return bytes.toString('latin1').replace(/\0+$/, '');
  }
}

const INT_RANGE: Partial<Record<ModbusDataType, [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/** value → registers; integers are rounded after un-scaling and must fit the type */
export function encodeValue(value: number | boolean | string, o: CodecOptions): number[] {
  const n = registerCount(o.dataType, o.limit);
  const bytes = Buffer.alloc(n * 2);
  if (o.dataType === 'string') {
    const s = String(value);
    if (Buffer.byteLength(s, 'latin1') > n * 2) throw new RangeError(`string longer than ${n * 2} bytes`);
    bytes.write(s, 'latin1');
    return bytesToWords(bytes, o);
  }
  if (o.dataType === 'bool') {
    bytes.writeUInt16BE(value === true || value === 'true' || (typeof value === 'number' && value !== 0) ? 1 : 0, 0);
    return bytesToWords(bytes, o);
  }
  const num = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : Number(value);
  if (!Number.isFinite(num)) throw new RangeError(`${String(value)} is not a number`);
  const raw = (num - (o.valueOffset ?? 0)) / (o.scale ?? 1);
  const range = INT_RANGE[o.dataType];
  if (range) {
    const r = Math.round(raw);
    if (r < range[0] || r > range[1]) throw new RangeError(`${r} does not fit ${o.dataType}`);
    if (o.dataType === 'int16') bytes.writeInt16BE(r, 0);
    else if (o.dataType === 'uint16') bytes.writeUInt16BE(r, 0);
    else if (o.dataType === 'int32') bytes.writeInt32BE(r, 0);
    else bytes.writeUInt32BE(r, 0);
  } else if (o.dataType === 'float32') {
    bytes.writeFloatBE(raw, 0);
  } else {
    bytes.writeDoubleBE(raw, 0);
  }
  return bytesToWords(bytes, o);
}
