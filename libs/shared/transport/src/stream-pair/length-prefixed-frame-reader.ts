// Cuts a byte stream (QUIC or WebTransport) into frames: a 4-byte big-endian length, then that many bytes. The length is
// checked before a single payload byte is buffered, so a peer cannot make us hold more than one frame.
import { ProtocolError } from '@kedge/protocol';

export const FRAME_HEADER_BYTES = 4;
/** the largest length the header can express */
export const MAX_FRAME_LENGTH = 0xffff_ffff;

export function encodeFrameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, length, false);
  return header;
}

export class LengthPrefixedFrameReader {
  private chunks: Uint8Array[] = [];
  /** bytes of chunks[0] already consumed */
  private offset = 0;
  private buffered = 0;
  private expected: number | undefined;
  private failure: ProtocolError | undefined;

  constructor(private readonly maxFrameBytes: number) {}

  /** bytes received and not yet returned as part of a frame */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Feeds a chunk; calls `onFrame` for every frame it completes, in order. A declared length above
   * maxFrameBytes throws ProtocolError FRAME_TOO_LARGE after the frames before it were delivered;
   * the stream cannot be resynchronised, so every later push throws the same error.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    if (this.failure !== undefined) throw this.failure;
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    for (;;) {
      if (this.expected === undefined) {
        if (this.buffered < FRAME_HEADER_BYTES) return;
        const header = this.take(FRAME_HEADER_BYTES);
        const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(0, false);
        if (length > this.maxFrameBytes) {
          this.chunks = [];
          this.buffered = 0;
          this.offset = 0;
          this.failure = new ProtocolError(
            'FRAME_TOO_LARGE',
            `frame header announces ${length} bytes, over the limit of ${this.maxFrameBytes} bytes; ` +
              'the stream cannot be resynchronised, so the link is closed',
          );
          throw this.failure;
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) return;
      const frame = this.take(this.expected);
      this.expected = undefined;
      onFrame(frame);
    }
  }

  /** Removes `length` buffered bytes; a view when they sit in one chunk, a copy otherwise. */
  private take(length: number): Uint8Array {
    this.buffered -= length;
    const first = this.chunks[0];
    if (first !== undefined && first.byteLength - this.offset >= length) {
      const view = first.subarray(this.offset, this.offset + length);
      this.advance(first, length);
      return view;
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new Error('LengthPrefixedFrameReader: buffered byte count is out of sync');
      const count = Math.min(length - filled, chunk.byteLength - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + count), filled);
      filled += count;
      this.advance(chunk, count);
    }
    return out;
  }

  private advance(chunk: Uint8Array, count: number): void {
    this.offset += count;
    if (this.offset === chunk.byteLength) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
