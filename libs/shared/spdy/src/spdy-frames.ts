// SPDY/3.1 framing, the subset Kubernetes' streaming protocols use (port-forward and remotecommand
// exec/attach, tunnelled in WebSocket binary messages or after a plain `Upgrade: SPDY/3.1`), for servers
// (cloudstream) and clients (edgestream dialling the container runtime's streaming server):
// control frames 8 bytes of header (control bit, version 3, type, flags, 24-bit length), data frames
// (31-bit stream id, flags, 24-bit length), and header blocks of length-prefixed name/value pairs,
// zlib-compressed with one context per direction and the SPDY/3 dictionary.
import { constants as zlibConstants, createInflate, type Inflate } from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './spdy-dictionary';

export const SPDY_VERSION = 3;

export const ControlType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

export const FLAG_FIN = 0x01;

/** RST_STREAM status codes */
export const RstStatus = { ProtocolError: 1, InvalidStream: 2, RefusedStream: 3, Cancel: 5, InternalError: 6 } as const;

/** Frames above this are refused: kubectl's data frames are ≤ 32 KiB and its header blocks tiny. */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

export type SpdyFrame =
  | { control: true; type: number; flags: number; payload: Buffer }
  | { control: false; streamId: number; flags: number; payload: Buffer };

/** The framing itself is broken (bad version, oversized frame): the session cannot continue. */
export class SpdyProtocolError extends Error {
  override readonly name = 'SpdyProtocolError';
}

/** Cuts a byte stream (WebSocket messages or socket chunks, split anywhere) into frames. */
export class SpdyFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** @throws SpdyProtocolError */
  push(bytes: Buffer): SpdyFrame[] {
    this.buffered = this.buffered.length === 0 ? bytes : Buffer.concat([this.buffered, bytes]);
    const frames: SpdyFrame[] = [];
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUIntBE(5, 3);
      if (length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`SPDY frame of ${length} bytes is over the ${MAX_FRAME_PAYLOAD}-byte limit`);
      if (this.buffered.length < 8 + length) break;
      const first = this.buffered.readUInt32BE(0);
      const flags = this.buffered[4] ?? 0;
      const payload = Buffer.from(this.buffered.subarray(8, 8 + length));
      this.buffered = this.buffered.subarray(8 + length);
      if (first & 0x80000000) {
        const version = (first >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new SpdyProtocolError(`SPDY version ${version} is not supported (only 3.1)`);
        frames.push({ control: true, type: first & 0xffff, flags, payload });
      } else {
        frames.push({ control: false, streamId: first & 0x7fffffff, flags, payload });
      }
    }
    return frames;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type, 0);
  header[4] = flags;
  header.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([header, payload]);
}

export function dataFrame(streamId: number, flags: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header[4] = flags;
  header.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([header, payload]);
}

function uint32s(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, index) => buffer.writeUInt32BE(value >>> 0, index * 4));
  return buffer;
}

/** A new stream (client ids odd, increasing); no associated stream, priority 0. */
export function synStreamFrame(streamId: number, flags: number, headerBlock: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & 0x7fffffff, 0);
  return controlFrame(ControlType.SynStream, flags, Buffer.concat([fixed, headerBlock]));
}

export function synReplyFrame(streamId: number, headerBlock: Buffer): Buffer {
  return controlFrame(ControlType.SynReply, 0, Buffer.concat([uint32s(streamId & 0x7fffffff), headerBlock]));
}

export function rstStreamFrame(streamId: number, status: number): Buffer {
  return controlFrame(ControlType.RstStream, 0, uint32s(streamId & 0x7fffffff, status));
}

export function pingFrame(id: number): Buffer {
  return controlFrame(ControlType.Ping, 0, uint32s(id));
}

export function goAwayFrame(lastGoodStreamId: number, status: number): Buffer {
  return controlFrame(ControlType.GoAway, 0, uint32s(lastGoodStreamId & 0x7fffffff, status));
}

export interface SynStream {
  streamId: number;
  flags: number;
  headerBlock: Buffer;
}

/** @throws SpdyProtocolError for a SYN_STREAM too short to hold its fixed fields */
export function parseSynStream(flags: number, payload: Buffer): SynStream {
  if (payload.length < 10) throw new SpdyProtocolError(`SYN_STREAM of ${payload.length} bytes is shorter than its 10 fixed bytes`);
  return { streamId: payload.readUInt32BE(0) & 0x7fffffff, flags, headerBlock: payload.subarray(10) };
}

/** The stream id that opens most control payloads (RST_STREAM, HEADERS, WINDOW_UPDATE, SYN_REPLY). */
export function leadingStreamId(payload: Buffer): number | undefined {
  return payload.length >= 4 ? payload.readUInt32BE(0) & 0x7fffffff : undefined;
}

const MAX_HEADER_PAIRS = 64;

/** Decodes an inflated header block into lower-case names and their values (NUL-separated values split). */
export function decodeHeaderPairs(block: Buffer): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let offset = 0;
  const take = (what: string): Buffer => {
    if (offset + 4 > block.length) throw new SpdyProtocolError(`header block ends inside the length of ${what}`);
    const length = block.readUInt32BE(offset);
    offset += 4;
    if (offset + length > block.length) throw new SpdyProtocolError(`header block ends inside ${what} (${length} bytes announced)`);
    const bytes = block.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  if (block.length < 4) throw new SpdyProtocolError('header block without a pair count');
  const count = block.readUInt32BE(0);
  offset = 4;
  if (count > MAX_HEADER_PAIRS) throw new SpdyProtocolError(`header block announces ${count} pairs, more than ${MAX_HEADER_PAIRS}`);
  for (let index = 0; index < count; index += 1) {
    const name = take('a header name').toString('latin1').toLowerCase();
    const value = take(`the value of header "${name}"`).toString('latin1');
    headers.set(name, [...(headers.get(name) ?? []), ...value.split('\0')]);
  }
  return headers;
}

export function encodeHeaderPairs(headers: Array<[string, string]>): Buffer {
  const parts = [uint32s(headers.length)];
  for (const [name, value] of headers) {
    const nameBytes = Buffer.from(name.toLowerCase(), 'latin1');
    const valueBytes = Buffer.from(value, 'latin1');
    parts.push(uint32s(nameBytes.length), nameBytes, uint32s(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

/**
 * Our direction's header compression. Header blocks are written as stored (uncompressed) deflate
 * blocks: valid for any zlib reader, needing no deflate state or dictionary, and our blocks are a
 * few bytes (empty SYN_REPLYs), so there is nothing to gain from compressing them.
 */
export class HeaderBlockWriter {
  private started = false;

  wrap(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // zlib header: deflate, 32 KiB window, no preset dictionary, check bits making it a multiple of 31
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    const stored = (chunk: Buffer): void => {
      const header = Buffer.alloc(5);
      header[0] = 0x00; // not final, stored, already byte-aligned
      header.writeUInt16LE(chunk.length, 1);
      header.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(header, chunk);
    };
    for (let offset = 0; offset < block.length; offset += 0xffff) stored(block.subarray(offset, offset + 0xffff));
    // an empty stored block ends every header block, as zlib's sync flush does: a reader that has taken
    // the data must find the next block header in this frame, not wait for the next frame (Go's flate does)
    stored(Buffer.alloc(0));
    return Buffer.concat(parts);
  }
}

/** The peer's direction: one inflate context across all its header blocks, with the SPDY/3 dictionary. */
export class HeaderBlockReader {
  private readonly inflate: Inflate = createInflate({ dictionary: SPDY3_HEADER_DICTIONARY });
  private failure: Error | undefined;

  constructor() {
    this.inflate.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  /** Inflates the next header block. @throws SpdyProtocolError when the compressed stream is broken */
  read(compressed: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.failure) {
        reject(new SpdyProtocolError(`header compression is broken: ${this.failure.message}`));
        return;
      }
      const onError = (error: Error): void => reject(new SpdyProtocolError(`header block cannot be inflated: ${error.message}`));
      this.inflate.once('error', onError);
      this.inflate.write(compressed);
      this.inflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        this.inflate.off('error', onError);
        if (this.failure) {
          reject(new SpdyProtocolError(`header block cannot be inflated: ${this.failure.message}`));
          return;
        }
        // all output of this flush is buffered by now; read() hands it over without waiting
        const chunks: Buffer[] = [];
        for (let chunk = this.inflate.read() as Buffer | null; chunk !== null; chunk = this.inflate.read() as Buffer | null) chunks.push(chunk);
        resolve(Buffer.concat(chunks));
      });
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}
