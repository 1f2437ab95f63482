// Protocol-buffers wire format, read side only: varints, length-delimited fields and the fixed
// widths (skipped). Every malformed byte sequence is a ProtobufDecodeError, never a crash.

/** Bytes that are not a well-formed message: a 400, naming where in the object it went wrong. */
export class ProtobufDecodeError extends Error {
  override readonly name: string = 'ProtobufDecodeError';

  /** `field`: the path of the field being read (`Eviction.deleteOptions.preconditions`), when known */
  constructor(
    readonly detail: string,
    readonly field?: string,
  ) {
    super(field === undefined ? detail : `${field}: ${detail}`);
  }

  /** The same error one level further out: `parent` is prefixed to the field path. */
  within(parent: string): ProtobufDecodeError {
    const field = this.field === undefined ? parent : `${parent}.${this.field}`;
    return this instanceof ProtobufUnsupportedError ? new ProtobufUnsupportedError(this.detail, field) : new ProtobufDecodeError(this.detail, field);
  }
}

/**
 * A well-formed body this server cannot take as protobuf (a kind or field number it has no schema for):
 * a 415, so the client knows to send JSON, as upstream answers for kinds without protobuf.
 */
export class ProtobufUnsupportedError extends ProtobufDecodeError {
  override readonly name: string = 'ProtobufUnsupportedError';
}

export interface WireField {
  number: number;
  wireType: number;
  /** for wire type 0 */
  varint?: bigint;
  /** for wire type 2 */
  bytes?: Buffer;
}

export function readFields(buffer: Buffer): WireField[] {
  const fields: WireField[] = [];
  let offset = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (offset >= buffer.length) throw new ProtobufDecodeError('truncated varint');
      const byte = buffer[offset++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufDecodeError('varint longer than 10 bytes');
    }
  };
  while (offset < buffer.length) {
    const key = readVarint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new ProtobufDecodeError('field number 0');
    switch (wireType) {
      case 0:
        fields.push({ number, wireType, varint: readVarint() });
        break;
      case 1:
        offset += 8;
        fields.push({ number, wireType });
        break;
      case 2: {
        const length = Number(readVarint());
        if (offset + length > buffer.length) throw new ProtobufDecodeError(`field ${number} runs past the end of the message`);
        fields.push({ number, wireType, bytes: buffer.subarray(offset, offset + length) });
        offset += length;
        break;
      }
      case 5:
        offset += 4;
        fields.push({ number, wireType });
        break;
      default:
        throw new ProtobufDecodeError(`unsupported wire type ${wireType} for field ${number}`);
    }
    if (offset > buffer.length) throw new ProtobufDecodeError('truncated fixed-width field');
  }
  return fields;
}

/** A varint as a signed 64-bit integer, as a number (Kubernetes int64 fields stay far below 2^53). */
export function varintToNumber(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}
