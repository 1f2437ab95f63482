// The shared SPDY/3.1 codec: frames cut from bytes split anywhere, header blocks through our stored-block
// writer and the dictionary reader, and the limits that end a session (other version, oversized frame).
import { describe, expect, it } from 'vitest';
import {
  ControlType,
  FLAG_FIN,
  HeaderBlockReader,
  HeaderBlockWriter,
  MAX_FRAME_PAYLOAD,
  SpdyFrameReader,
  SpdyProtocolError,
  controlFrame,
  dataFrame,
  decodeHeaderPairs,
  encodeHeaderPairs,
  parseSynStream,
  synStreamFrame,
} from '../src/index';

describe('spdy - frames and header blocks', () => {
  it('spdy - a SYN_STREAM and a DATA frame split at every byte come out whole, headers intact', async () => {
    const writer = new HeaderBlockWriter();
    const reader = new HeaderBlockReader();
    const bytes = Buffer.concat([
      synStreamFrame(3, 0, writer.wrap(encodeHeaderPairs([['streamType', 'stdin']]))),
      dataFrame(3, FLAG_FIN, Buffer.from('payload')),
    ]);
    const frames = new SpdyFrameReader();
    const out = [...bytes].flatMap((byte) => frames.push(Buffer.from([byte])));
    expect(out).toHaveLength(2);
    const [syn, data] = out;
    if (!syn?.control || data?.control !== false) throw new Error('expected a control frame then a data frame');
    expect(syn.type).toBe(ControlType.SynStream);
    const parsed = parseSynStream(syn.flags, syn.payload);
    expect(parsed.streamId).toBe(3);
    expect(decodeHeaderPairs(await reader.read(parsed.headerBlock)).get('streamtype')).toEqual(['stdin']);
    expect(data).toMatchObject({ streamId: 3, flags: FLAG_FIN });
    expect(data.payload.toString()).toBe('payload');
    // the second block of the same writer continues the same zlib stream
    expect(decodeHeaderPairs(await reader.read(writer.wrap(encodeHeaderPairs([['streamType', 'error']])))).get('streamtype')).toEqual(['error']);
    reader.close();
  });

  it('attack - another SPDY version and a frame over the limit are protocol errors', () => {
    const v2 = controlFrame(ControlType.Ping, 0, Buffer.alloc(4));
    v2.writeUInt16BE(0x8002, 0);
    expect(() => new SpdyFrameReader().push(v2)).toThrow(SpdyProtocolError);
    const huge = dataFrame(1, 0, Buffer.alloc(0));
    huge.writeUIntBE(MAX_FRAME_PAYLOAD + 1, 5, 3);
    expect(() => new SpdyFrameReader().push(huge)).toThrow(/over the .* limit/);
  });
});
