// The wire codec: one beehive JSON message per frame. The decoder faces the network, so it is strict
// and throws nothing but ProtocolError; the encoder refuses what the decoder would refuse, so a bug
// shows up at the sender instead of as a dropped frame on the other side.
import { Buffer } from 'node:buffer';
import { ProtocolError, describeValue } from './errors';
import { MAX_CONTENT_DEPTH, assertFrameDepth, assertSafeJsonValue, hasAtMostContainers } from './json-safety';
import type { Message } from './message';
import { readMessage } from './message-fields';

/** Largest frame accepted (and produced) by default: 8 MiB, as KubeEdge's default message size. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

export interface CodecOptions {
  /** largest frame in UTF-8 bytes; defaults to DEFAULT_MAX_FRAME_BYTES */
  maxFrameBytes?: number;
}

// fatal: invalid UTF-8 is refused instead of being silently replaced with U+FFFD; ignoreBOM keeps a
// byte-order mark in the text, so bytes and strings are judged alike (JSON.parse refuses it)
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function maxFrameBytesOf(options: CodecOptions | undefined): number {
  const max = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isSafeInteger(max) || max <= 0) {
    throw new ProtocolError('INVALID_OPTION', `maxFrameBytes must be a positive integer, got ${describeValue(max)}`, {
      field: 'maxFrameBytes',
    });
  }
  return max;
}

function tooLarge(bytes: number | string, max: number): ProtocolError {
  return new ProtocolError(
    'FRAME_TOO_LARGE',
    `frame of ${bytes} bytes exceeds the limit of ${max} bytes; split the payload or raise maxFrameBytes on both ends`,
  );
}

/** Throws FRAME_TOO_LARGE when `text` would take more than `max` bytes as UTF-8. */
function assertTextSize(text: string, max: number): void {
  // every UTF-16 unit takes 1 to 3 UTF-8 bytes, so most frames are decided without counting
  if (text.length > max) throw tooLarge(`at least ${text.length}`, max);
  if (text.length * 3 <= max) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > max) throw tooLarge(bytes, max);
}

/**
 * Decodes one frame into a fresh, normalised Message. Checks happen cheapest first: type, size
 * (before anything is parsed), UTF-8, nesting depth, JSON syntax, forbidden keys, then the fields.
 * @throws ProtocolError and nothing else
 */
export function decodeMessage(frame: string | Uint8Array, options?: CodecOptions): Message {
  return decodeText(frameText(frame, maxFrameBytesOf(options)));
}

/** One item of a decoded frame: a message, or why that one item was refused. */
export type DecodedItem = Message | ProtocolError;

/**
 * Decodes a frame that holds one message (a JSON object, as decodeMessage) or a batch: a JSON array of
 * messages (docs/protocol.md, "Batch frames"). The frame as a whole is checked first, cheapest first
 * (type, size, UTF-8, nesting, JSON syntax) and a failure there throws, as decodeMessage does (in a batch
 * over BATCH_PARSE_FIRST_BYTES, an item nested too deep makes the whole batch too deep). Then
 * each batch item is checked alone, with the same rules as a one-message frame: a bad item comes back
 * as its ProtocolError, which names the item, and the other items still count.
 * @throws ProtocolError for the frame as a whole, and nothing else
 */
export function decodeFrame(frame: string | Uint8Array, options?: CodecOptions): DecodedItem[] {
  const text = frameText(frame, maxFrameBytesOf(options));
  if (!isBatchText(text)) return [decodeText(text)];
  // Nesting makes JSON.parse up to ~10× slower per byte, which only matters for big frames: a batch
  // holds many brackets, so scanning every batch would cost as much as parsing it. Up to
  // BATCH_PARSE_FIRST_BYTES a batch is parsed first and each item's depth judged by its own walk.
  if (text.length > BATCH_PARSE_FIRST_BYTES) assertFrameDepth(text, MAX_CONTENT_DEPTH + 2);
  const items = parseJson(text) as unknown[];
  if (items.length === 0) throw new ProtocolError('INVALID_FRAME', 'batch frame: an empty array; a batch holds one or more messages');
  const decoded: DecodedItem[] = new Array<DecodedItem>(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      decoded[i] = checkParsed(items[i]);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      decoded[i] = new ProtocolError(error.code, `batch frame item ${i} of ${items.length}: ${error.message}`, {
        ...(error.field === undefined ? {} : { field: error.field }),
        cause: error,
      });
    }
  }
  return decoded;
}

/** Batch frames up to this many characters are parsed without the nesting scan first (see decodeFrame). */
export const BATCH_PARSE_FIRST_BYTES = 64 * 1024;

/** A batch frame's JSON, for frames already encoded with encodeMessage. */
export function encodeBatch(frames: readonly string[]): string {
  return `[${frames.join(',')}]`;
}

const JSON_SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const OPEN_BRACKET = 0x5b;

/** true when the text's first non-space character opens an array: a batch frame */
function isBatchText(text: string): boolean {
  let i = 0;
  while (i < text.length && JSON_SPACE.has(text.charCodeAt(i))) i++;
  return text.charCodeAt(i) === OPEN_BRACKET;
}

function decodeText(text: string): Message {
  assertFrameDepth(text, MAX_CONTENT_DEPTH + 1);
  return checkParsed(parseJson(text));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProtocolError('MALFORMED_JSON', `frame is not valid JSON: ${detail}`, { cause: error });
  }
}

function checkParsed(parsed: unknown): Message {
  // depth is already bounded by the scan before parsing; this pass finds forbidden keys with their path
  assertSafeJsonValue(parsed, '', MAX_CONTENT_DEPTH + 1);
  return readMessage(parsed);
}

/** The frame as text, refused when too large or (bytes) not UTF-8. */
function frameText(frame: string | Uint8Array, max: number): string {
  let text: string;
  if (typeof frame === 'string') {
    assertTextSize(frame, max);
    text = frame;
  } else if (frame instanceof Uint8Array) {
    if (frame.byteLength > max) throw tooLarge(frame.byteLength, max);
    try {
      text = utf8.decode(frame);
    } catch (error) {
      throw new ProtocolError('NOT_UTF8', 'frame is not valid UTF-8; send text frames encoded as UTF-8', { cause: error });
    }
  } else {
    throw new ProtocolError('INVALID_FRAME', `frame must be a string or a Uint8Array, got ${describeValue(frame)}`);
  }
  return text;
}

/**
 * Encodes a message as one JSON frame, keys in wire order. An absent (undefined) content is sent as
 * null, because the decoder requires the key.
 * @throws ProtocolError when the message could not be decoded by the other side
 */
export function encodeMessage(msg: Message, options?: CodecOptions): string {
  const max = maxFrameBytesOf(options);
  const content = msg.content === undefined ? null : msg.content;
  if (typeof content === 'function' || typeof content === 'symbol') {
    // JSON.stringify would silently drop the key and the peer would see a message without content
    throw new ProtocolError('INVALID_FIELD', `frame field "content": expected a JSON value, got ${typeof content}`, {
      field: 'content',
    });
  }
  const normalised = readMessage({ header: msg.header, route: msg.route, content });
  let text: string;
  try {
    text = JSON.stringify(normalised);
  } catch (error) {
    // a cycle is content nested too deep; otherwise BigInt, or a toJSON that throws
    assertSafeJsonValue(content, 'content', MAX_CONTENT_DEPTH);
    const detail = error instanceof Error ? error.message : String(error);
    throw new ProtocolError('INVALID_FIELD', `frame field "content": cannot be encoded as JSON: ${detail}`, {
      field: 'content',
      cause: error,
    });
  }
  // the walk that finds what the decoder would refuse, with its path, runs only when the text shows a
  // sign of it: a "__proto__" key, a null (what JSON.stringify makes of NaN and Infinity), or more
  // brackets than the depth limit
  if (text.includes('__proto__') || text.includes('null') || !hasAtMostContainers(text, MAX_CONTENT_DEPTH)) {
    assertSafeJsonValue(content, 'content', MAX_CONTENT_DEPTH);
  }
  assertTextSize(text, max);
  return text;
}
