// Batch frames (docs/protocol.md): a JSON array of messages in one frame. The frame is judged as a
// whole first, then every item alone, so one bad item is refused by name and the others still count.
import { describe, expect, it, vi } from 'vitest';
import { BATCH_PARSE_FIRST_BYTES, MAX_CONTENT_DEPTH, ProtocolError, decodeFrame, decodeMessage, encodeBatch, encodeMessage, newMessage } from '../src/index';
import type { Message } from '../src/index';
import { expectProtocolError, frameWith } from './helpers';

function message(i: number): Message {
  return newMessage({ source: 'edgecontroller', group: 'resource', operation: 'update', resource: `default/configmap/c${i}`, content: { i } });
}

describe('codec - batch frames', () => {
  it('codec - a batch frame decodes to its messages in order, each the same as alone', () => {
    const messages = [message(0), message(1), message(2)];
    const frame = encodeBatch(messages.map((m) => encodeMessage(m)));
    expect(frame.startsWith('[{')).toBe(true);
    expect(decodeFrame(frame)).toEqual(messages);
    expect(decodeFrame(Buffer.from(` \n${frame}`))).toEqual(messages);
  });

  it('codec - a one-message frame decodes through decodeFrame as through decodeMessage', () => {
    const frame = encodeMessage(message(7));
    expect(decodeFrame(frame)).toEqual([decodeMessage(frame)]);
    expectProtocolError(() => decodeFrame(frameWith('route.group', '')), 'INVALID_FIELD', 'route.group');
  });

  it('codec - a bad item inside a batch is refused by name and the others are kept', () => {
    const good = [message(0), message(2), message(3)];
    const frame = encodeBatch([encodeMessage(good[0]!), frameWith('header.timestamp', 'soon'), encodeMessage(good[1]!), '{"__proto__":{},"header":{}}', encodeMessage(good[2]!)]);
    const items = decodeFrame(frame);
    expect(items).toHaveLength(5);
    expect([items[0], items[2], items[4]]).toEqual(good);
    const bad = items[1] as ProtocolError;
    expect(bad).toBeInstanceOf(ProtocolError);
    expect({ code: bad.code, field: bad.field }).toEqual({ code: 'INVALID_FIELD', field: 'header.timestamp' });
    expect(bad.message).toBe('batch frame item 1 of 5: frame field "header.timestamp": expected a non-negative integer (unix ms), got string "soon"');
    expect(bad.cause).toBeInstanceOf(ProtocolError);
    const polluted = items[3] as ProtocolError;
    expect({ code: polluted.code, field: polluted.field }).toEqual({ code: 'FORBIDDEN_KEY', field: '__proto__' });
    expect(polluted.message).toMatch(/^batch frame item 3 of 5: /);
  });

  it('codec - items that are not messages are refused one by one', () => {
    const valid = message(0);
    const items = decodeFrame(`[1,"x",null,[],${encodeMessage(valid)}]`);
    expect(items.slice(0, 4).map((item) => (item as ProtocolError).code)).toEqual(['NOT_AN_OBJECT', 'NOT_AN_OBJECT', 'NOT_AN_OBJECT', 'NOT_AN_OBJECT']);
    expect(items[4]).toEqual(valid);
  });

  it('codec - a batch frame is refused whole for what a frame is refused for', () => {
    expectProtocolError(() => decodeFrame('[]'), 'INVALID_FRAME');
    expectProtocolError(() => decodeFrame('[{"a":}]'), 'MALFORMED_JSON');
    expectProtocolError(() => decodeFrame(encodeBatch([encodeMessage(message(0)), encodeMessage(message(1))]), { maxFrameBytes: 300 }), 'FRAME_TOO_LARGE');
    expectProtocolError(() => decodeFrame(Uint8Array.from([0x5b, 0xff, 0x5d])), 'NOT_UTF8');
  });

  it('codec - in a small batch an item nested too deep is refused alone', () => {
    const valid = message(0);
    const items = decodeFrame(`[${encodeMessage(valid)},${deepMessage()}]`);
    expect(items[0]).toEqual(valid);
    expect({ code: (items[1] as ProtocolError).code, field: (items[1] as ProtocolError).field }).toEqual({ code: 'TOO_DEEP', field: 'content' });
    expect((items[1] as ProtocolError).message).toMatch(/^batch frame item 1 of 2: /);
  });

  it('codec - a big batch nested deeper than any message may is refused whole, before parsing', () => {
    const padding = Array.from({ length: Math.ceil(BATCH_PARSE_FIRST_BYTES / 200) }, (_, i) => encodeMessage(message(i)));
    const big = `[${[...padding, deepMessage()].join(',')}]`;
    expect(big.length).toBeGreaterThan(BATCH_PARSE_FIRST_BYTES);
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expectProtocolError(() => decodeFrame(big), 'TOO_DEEP');
      expectProtocolError(() => decodeFrame('['.repeat(BATCH_PARSE_FIRST_BYTES + 1)), 'TOO_DEEP');
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });
});

/** A message whose content nests one level deeper than MAX_CONTENT_DEPTH allows. */
function deepMessage(): string {
  let content: unknown = 1;
  for (let i = 0; i <= MAX_CONTENT_DEPTH; i++) content = { k: content };
  return JSON.stringify({ ...(JSON.parse(encodeMessage(message(1))) as object), content });
}
