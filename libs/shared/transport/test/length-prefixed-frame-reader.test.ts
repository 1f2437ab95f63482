import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProtocolError } from '@kedge/protocol';
import { LengthPrefixedFrameReader, encodeFrameHeader } from '../src/stream-pair/length-prefixed-frame-reader';

const text = new TextEncoder();
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function framed(...payloads: string[]): Uint8Array {
  const parts = payloads.flatMap((payload) => {
    const body = text.encode(payload);
    return [encodeFrameHeader(body.byteLength), body];
  });
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function feed(reader: LengthPrefixedFrameReader, chunks: Uint8Array[]): string[] {
  const frames: string[] = [];
  for (const chunk of chunks) reader.push(chunk, (frame) => frames.push(decode(frame)));
  return frames;
}

describe('length-prefixed frame reader', () => {
  it('frame reader - reads several frames from one chunk, in order', () => {
    const reader = new LengthPrefixedFrameReader(1024);
    expect(feed(reader, [framed('one', 'two', '', 'three')])).toEqual(['one', 'two', '', 'three']);
    expect(reader.bufferedBytes).toBe(0);
  });

  it('frame reader - reassembles frames split across chunks, down to single bytes', () => {
    const reader = new LengthPrefixedFrameReader(1024);
    const bytes = framed('héllo', 'wörld');
    const chunks = Array.from(bytes, (byte) => Uint8Array.of(byte));
    expect(feed(reader, chunks)).toEqual(['héllo', 'wörld']);
  });

  it('frame reader - keeps a partial frame until the rest arrives', () => {
    const reader = new LengthPrefixedFrameReader(1024);
    const bytes = framed('abcdef');
    expect(feed(reader, [bytes.subarray(0, 6)])).toEqual([]);
    expect(reader.bufferedBytes).toBe(2);
    expect(feed(reader, [bytes.subarray(6)])).toEqual(['abcdef']);
  });

  it('frame reader - any chunking yields the same frames (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 12 }), fc.array(fc.nat(30), { maxLength: 20 }), (payloads, cuts) => {
        const bytes = framed(...payloads);
        const chunks: Uint8Array[] = [];
        let offset = 0;
        for (const cut of cuts) {
          chunks.push(bytes.subarray(offset, Math.min(bytes.byteLength, offset + cut)));
          offset = Math.min(bytes.byteLength, offset + cut);
        }
        chunks.push(bytes.subarray(offset));
        const reader = new LengthPrefixedFrameReader(1024);
        expect(feed(reader, chunks)).toEqual(payloads);
        expect(reader.bufferedBytes).toBe(0);
      }),
    );
  });

  it('frame reader - accepts a frame of exactly maxFrameBytes', () => {
    const reader = new LengthPrefixedFrameReader(8);
    expect(feed(reader, [framed('12345678')])).toEqual(['12345678']);
  });

  it('frame reader - a length over maxFrameBytes delivers earlier frames, then throws FRAME_TOO_LARGE for good', () => {
    const reader = new LengthPrefixedFrameReader(8);
    const frames: string[] = [];
    const bytes = framed('ok', '123456789', 'never');
    let error: unknown;
    try {
      reader.push(bytes, (frame) => frames.push(decode(frame)));
    } catch (caught) {
      error = caught;
    }
    expect(frames).toEqual(['ok']);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('FRAME_TOO_LARGE');
    // nothing of the oversized frame was buffered
    expect(reader.bufferedBytes).toBe(0);
    expect(() => reader.push(framed('x'), () => undefined)).toThrow(ProtocolError);
  });

  it('frame reader - refuses a huge announced length before any payload arrives', () => {
    const reader = new LengthPrefixedFrameReader(1024);
    expect(() => reader.push(encodeFrameHeader(0xffff_ffff), () => undefined)).toThrow(/4294967295 bytes/);
  });
});
