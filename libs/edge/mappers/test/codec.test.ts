import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToWords, decodeRegisters, encodeValue, registerCount, wordsToBytes, type ModbusDataType } from '../src/index';

const swaps = fc.record({ isSwap: fc.boolean(), isRegisterSwap: fc.boolean() });
const word = fc.integer({ min: 0, max: 0xffff });

describe('modbus codec', () => {
  it('codec - decodes big-endian registers without swaps', () => {
    expect(decodeRegisters([0x1234], { dataType: 'uint16' })).toBe(0x1234);
    expect(decodeRegisters([0xffff], { dataType: 'int16' })).toBe(-1);
    expect(decodeRegisters([0x0001, 0x0002], { dataType: 'uint32' })).toBe(0x00010002);
    expect(decodeRegisters([0xffff, 0xfffe], { dataType: 'int32' })).toBe(-2);
    expect(decodeRegisters([0x4148, 0x0000], { dataType: 'float32' })).toBe(12.5);
    expect(decodeRegisters([0x4029, 0x0000, 0x0000, 0x0000], { dataType: 'float64' })).toBe(12.5);
    expect(decodeRegisters([0x0001], { dataType: 'bool' })).toBe(true);
    expect(decodeRegisters([0x0000], { dataType: 'bool' })).toBe(false);
    expect(decodeRegisters([0x4869, 0x2100], { dataType: 'string', limit: 2 })).toBe('Hi!');
  });

  it('codec - isSwap swaps bytes within a word, isRegisterSwap reverses words', () => {
    expect(decodeRegisters([0x3412], { dataType: 'uint16', isSwap: true })).toBe(0x1234);
    expect(decodeRegisters([0x0002, 0x0001], { dataType: 'uint32', isRegisterSwap: true })).toBe(0x00010002);
    expect(decodeRegisters([0x0200, 0x0100], { dataType: 'uint32', isSwap: true, isRegisterSwap: true })).toBe(0x00010002);
    expect(decodeRegisters([0x0000, 0x4148], { dataType: 'float32', isRegisterSwap: true })).toBe(12.5);
    expect(decodeRegisters([0x4841, 0x0000], { dataType: 'float32', isSwap: true })).toBe(12.5);
  });

  it('codec - applies scale and value offset both ways', () => {
    expect(decodeRegisters([215], { dataType: 'int16', scale: 0.1 })).toBeCloseTo(21.5);
    expect(decodeRegisters([100], { dataType: 'uint16', scale: 2, valueOffset: -40 })).toBe(160);
    expect(encodeValue(21.5, { dataType: 'int16', scale: 0.1 })).toEqual([215]);
    expect(encodeValue(160, { dataType: 'uint16', scale: 2, valueOffset: -40 })).toEqual([100]);
  });

  it('codec - register counts per type', () => {
    const counts = (['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as ModbusDataType[]).map((t) => registerCount(t));
    expect(counts).toEqual([1, 1, 1, 2, 2, 2, 4]);
    expect(registerCount('string', 5)).toBe(5);
  });

  it('codec - rejects values that do not fit', () => {
    expect(() => encodeValue(70000, { dataType: 'uint16' })).toThrow(RangeError);
    expect(() => encodeValue(-1, { dataType: 'uint32' })).toThrow(RangeError);
    expect(() => encodeValue('toolong', { dataType: 'string', limit: 2 })).toThrow(RangeError);
    expect(() => encodeValue('x', { dataType: 'int16' })).toThrow(RangeError);
    expect(() => decodeRegisters([1], { dataType: 'float64' })).toThrow(RangeError);
  });

  it('codec - wordsToBytes and bytesToWords are inverse for every swap combination', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 8 }), swaps, (words, s) => {
        expect(bytesToWords(wordsToBytes(words, s), s)).toEqual(words);
      }),
    );
  });

  it('codec - round trips int16/uint16/int32/uint32 through registers', () => {
    const ranges: [ModbusDataType, number, number][] = [
      ['int16', -0x8000, 0x7fff],
      ['uint16', 0, 0xffff],
      ['int32', -0x80000000, 0x7fffffff],
      ['uint32', 0, 0xffffffff],
    ];
    for (const [dataType, min, max] of ranges) {
      fc.assert(
        fc.property(fc.integer({ min, max }), swaps, (v, s) => {
          expect(decodeRegisters(encodeValue(v, { dataType, ...s }), { dataType, ...s })).toBe(v);
        }),
      );
    }
  });

  it('codec - round trips float32 and float64 bit-exactly', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), swaps, (v, s) => {
        expect(decodeRegisters(encodeValue(v, { dataType: 'float32', ...s }), { dataType: 'float32', ...s })).toBe(Math.fround(v));
      }),
    );
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), swaps, (v, s) => {
        expect(decodeRegisters(encodeValue(v, { dataType: 'float64', ...s }), { dataType: 'float64', ...s })).toBe(v);
      }),
    );
  });

  it('codec - round trips raw registers (decode then encode) for every numeric type', () => {
    fc.assert(
      fc.property(fc.array(word, { minLength: 2, maxLength: 2 }), swaps, (words, s) => {
        for (const dataType of ['int32', 'uint32'] as const) {
          expect(encodeValue(decodeRegisters(words, { dataType, ...s }), { dataType, ...s })).toEqual(words);
        }
      }),
    );
    fc.assert(
      fc.property(word, swaps, (w, s) => {
        for (const dataType of ['int16', 'uint16'] as const) {
          expect(encodeValue(decodeRegisters([w], { dataType, ...s }), { dataType, ...s })).toEqual([w]);
        }
      }),
    );
  });

  it('codec - round trips scaled integers within half a step', () => {
    fc.assert(
      fc.property(fc.integer({ min: -3000, max: 3000 }), fc.constantFrom(0.1, 0.5, 2, 10), fc.integer({ min: -50, max: 50 }), (raw, scale, valueOffset) => {
        const o = { dataType: 'int16' as const, scale, valueOffset };
        const value = decodeRegisters(encodeValue(raw * scale + valueOffset, o), o) as number;
        expect(Math.abs(value - (raw * scale + valueOffset))).toBeLessThan(1e-6 + scale / 2);
      }),
    );
  });

  it('codec - round trips latin1 strings padded to the limit', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 1, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 8 }), swaps, (str, s) => {
        const o = { dataType: 'string' as const, limit: 4, ...s };
        expect(decodeRegisters(encodeValue(str, o), o)).toBe(str);
      }),
    );
  });
});
