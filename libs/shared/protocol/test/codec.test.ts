import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_MAX_FRAME_BYTES,
  MAX_CONTENT_DEPTH,
  ProtocolError,
  decodeMessage,
  encodeMessage,
  newMessage,
  newResponse,
} from '../src/index';
import type { Message, ProtocolErrorCode } from '../src/index';
import { expectProtocolError, frameWith, validFrameObject } from './helpers';

function sample(): Message {
  return newMessage({
    source: 'edged',
    group: 'resource',
    operation: 'update',
    resource: 'default/podstatus/web-0',
    content: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], ratio: 0.5, note: 'ünïcødé ✓' },
    resourceVersion: '981',
    sync: false,
  });
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

describe('codec - round trip', () => {
  it('codec - encodes one JSON object in wire key order and decodes it back unchanged', () => {
    const msg = sample();
    const frame = encodeMessage(msg);
    expect(Object.keys(JSON.parse(frame) as object)).toEqual(['header', 'route', 'content']);
    expect(decodeMessage(frame)).toEqual(msg);
  });

  it('codec - decodes UTF-8 bytes the same as text', () => {
    const msg = newResponse(sample(), ['ok', 'ünïcødé']);
    expect(decodeMessage(new TextEncoder().encode(encodeMessage(msg)))).toEqual(msg);
    expect(decodeMessage(Buffer.from(encodeMessage(msg)))).toEqual(msg);
  });

  it('codec - decodes a KubeEdge frame, dropping its header type and route destination', () => {
    const frame = validFrameObject();
    (frame['header'] as Record<string, unknown>)['type'] = '';
    (frame['route'] as Record<string, unknown>)['destination'] = 'edged';
    const msg = decodeMessage(JSON.stringify(frame));
    expect(msg.header).not.toHaveProperty('type');
    expect(msg.route).not.toHaveProperty('destination');
    expect(msg.route.group).toBe('resource');
  });

  it('codec - treats empty parent id and resource version as absent', () => {
    const frame = validFrameObject();
    Object.assign(frame['header'] as object, { parent_msg_id: '', resourceversion: '' });
    const msg = decodeMessage(JSON.stringify(frame));
    expect(msg.header).not.toHaveProperty('parent_msg_id');
    expect(msg.header).not.toHaveProperty('resourceversion');
  });

  it('codec - returns fresh objects and accepts null content and -0 timestamps', () => {
    const msg = decodeMessage(frameWith('content', null).replace('1732530000000', '-0'));
    expect(msg.content).toBeNull();
    expect(Object.is(msg.header.timestamp, 0)).toBe(true);
    expect(Object.getPrototypeOf(msg.header)).toBe(Object.prototype);
  });

  it('codec - encodes undefined content as null so the peer still sees the key', () => {
    const msg = { ...sample(), content: undefined };
    expect(decodeMessage(encodeMessage(msg)).content).toBeNull();
  });

  it('codec - accepts content exactly at the nesting limit', () => {
    const msg = { ...sample(), content: nested(MAX_CONTENT_DEPTH) };
    expect(decodeMessage(encodeMessage(msg)).content).toEqual(nested(MAX_CONTENT_DEPTH));
  });
});

describe('codec - decode rejections', () => {
  const cases: [string, string | Uint8Array, ProtocolErrorCode, string | undefined][] = [
    ['empty frame', '', 'MALFORMED_JSON', undefined],
    ['broken JSON', '{"header":', 'MALFORMED_JSON', undefined],
    ['invalid UTF-8 bytes', Uint8Array.of(0x7b, 0xff, 0x7d), 'NOT_UTF8', undefined],
    ['overlong UTF-8 encoding', Uint8Array.of(0x22, 0xc0, 0xaf, 0x22), 'NOT_UTF8', undefined],
    ['a byte-order mark before the JSON', Uint8Array.of(0xef, 0xbb, 0xbf, ...new TextEncoder().encode(frameWith('content', 1))), 'MALFORMED_JSON', undefined],
    ['top-level array', '[]', 'NOT_AN_OBJECT', undefined],
    ['top-level string', '"hello"', 'NOT_AN_OBJECT', undefined],
    ['top-level null', 'null', 'NOT_AN_OBJECT', undefined],
    ['missing header', frameWith('header', undefined), 'MISSING_FIELD', 'header'],
    ['missing route', frameWith('route', undefined), 'MISSING_FIELD', 'route'],
    ['missing content', frameWith('content', undefined), 'MISSING_FIELD', 'content'],
    ['extra top-level key', frameWith('extra', 1), 'UNKNOWN_FIELD', 'extra'],
    ['header not an object', frameWith('header', [1]), 'INVALID_FIELD', 'header'],
    ['route not an object', frameWith('route', 'r'), 'INVALID_FIELD', 'route'],
    ['missing msg_id', frameWith('header.msg_id', undefined), 'MISSING_FIELD', 'header.msg_id'],
    ['empty msg_id', frameWith('header.msg_id', ''), 'INVALID_FIELD', 'header.msg_id'],
    ['numeric msg_id', frameWith('header.msg_id', 7), 'INVALID_FIELD', 'header.msg_id'],
    ['msg_id too long', frameWith('header.msg_id', 'x'.repeat(129)), 'INVALID_FIELD', 'header.msg_id'],
    ['msg_id with a newline', frameWith('header.msg_id', 'a\nb'), 'INVALID_FIELD', 'header.msg_id'],
    ['parent id too long', frameWith('header.parent_msg_id', 'p'.repeat(129)), 'INVALID_FIELD', 'header.parent_msg_id'],
    ['null parent id', frameWith('header.parent_msg_id', null), 'INVALID_FIELD', 'header.parent_msg_id'],
    ['missing timestamp', frameWith('header.timestamp', undefined), 'MISSING_FIELD', 'header.timestamp'],
    ['string timestamp', frameWith('header.timestamp', '1732530000000'), 'INVALID_FIELD', 'header.timestamp'],
    ['negative timestamp', frameWith('header.timestamp', -1), 'INVALID_FIELD', 'header.timestamp'],
    ['fractional timestamp', frameWith('header.timestamp', 1.5), 'INVALID_FIELD', 'header.timestamp'],
    ['unsafe timestamp', frameWith('header.timestamp', 2 ** 53), 'INVALID_FIELD', 'header.timestamp'],
    ['non-digit resource version', frameWith('header.resourceversion', '12a'), 'INVALID_FIELD', 'header.resourceversion'],
    ['numeric resource version', frameWith('header.resourceversion', 12), 'INVALID_FIELD', 'header.resourceversion'],
    ['resource version too long', frameWith('header.resourceversion', '1'.repeat(33)), 'INVALID_FIELD', 'header.resourceversion'],
    ['string sync', frameWith('header.sync', 'true'), 'INVALID_FIELD', 'header.sync'],
    ['unknown header key', frameWith('header.priority', 1), 'UNKNOWN_FIELD', 'header.priority'],
    ['bad header type', frameWith('header.type', 5), 'INVALID_FIELD', 'header.type'],
    ['missing source', frameWith('route.source', undefined), 'MISSING_FIELD', 'route.source'],
    ['source with a space', frameWith('route.source', 'edge hub'), 'INVALID_FIELD', 'route.source'],
    ['empty group', frameWith('route.group', ''), 'INVALID_FIELD', 'route.group'],
    ['group too long', frameWith('route.group', 'g'.repeat(65)), 'INVALID_FIELD', 'route.group'],
    ['missing operation', frameWith('route.operation', undefined), 'MISSING_FIELD', 'route.operation'],
    ['empty operation', frameWith('route.operation', ''), 'INVALID_FIELD', 'route.operation'],
    ['operation with a slash', frameWith('route.operation', 'up/date'), 'INVALID_FIELD', 'route.operation'],
    ['missing resource', frameWith('route.resource', undefined), 'MISSING_FIELD', 'route.resource'],
    ['resource with a control character', frameWith('route.resource', 'default/pod/a\u0000'), 'INVALID_FIELD', 'route.resource'],
    ['resource too long', frameWith('route.resource', 'r'.repeat(1025)), 'INVALID_FIELD', 'route.resource'],
    ['numeric resource', frameWith('route.resource', 1), 'INVALID_FIELD', 'route.resource'],
    ['unknown route key', frameWith('route.target', 'x'), 'UNKNOWN_FIELD', 'route.target'],
    ['bad route destination', frameWith('route.destination', { a: 1 }), 'INVALID_FIELD', 'route.destination'],
    ['__proto__ at top level', '{"__proto__":{"polluted":true},"header":{},"route":{},"content":null}', 'FORBIDDEN_KEY', '__proto__'],
    ['__proto__ in header', frameWith('header', JSON.parse('{"__proto__":{"msg_id":"x"}}')), 'FORBIDDEN_KEY', 'header.__proto__'],
    [
      '__proto__ deep in content',
      frameWith('content', JSON.parse('{"items":[{"meta":{"__proto__":{"isAdmin":true}}}]}')),
      'FORBIDDEN_KEY',
      'content.items[0].meta.__proto__',
    ],
    ['a number too big for a double', frameWith('content', { n: 1 }).replace('"n":1', '"n":-1e400'), 'INVALID_FIELD', 'content.n'],
    ['a timestamp too big for a double', frameWith('header.timestamp', 1).replace('"timestamp":1', '"timestamp":1e400'), 'INVALID_FIELD', 'header.timestamp'],
    ['content nested too deep', frameWith('content', nested(MAX_CONTENT_DEPTH + 1)), 'TOO_DEEP', 'content'],
  ];

  it.each(cases)('codec - refuses %s', (_what, frame, code, field) => {
    expectProtocolError(() => decodeMessage(frame), code, field);
  });

  it('codec - refuses a frame that is neither text nor bytes', () => {
    for (const frame of [42, null, undefined, {}, new ArrayBuffer(4), new Uint16Array(2)]) {
      expectProtocolError(() => decodeMessage(frame as unknown as string), 'INVALID_FRAME');
    }
  });

  it('codec - wraps the JSON syntax error as the cause', () => {
    const error = expectProtocolError(() => decodeMessage('{"a":}'), 'MALFORMED_JSON');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('codec - names the field, the expectation and the bad value in the message', () => {
    const error = expectProtocolError(() => decodeMessage(frameWith('header.timestamp', 'soon')), 'INVALID_FIELD', 'header.timestamp');
    expect(error.message).toBe('frame field "header.timestamp": expected a non-negative integer (unix ms), got string "soon"');
  });

  it('codec - refuses frames over the limit, counting UTF-8 bytes of text', () => {
    const text = frameWith('content', 'é'.repeat(40));
    const bytes = Buffer.byteLength(text);
    expect(decodeMessage(text, { maxFrameBytes: bytes }).content).toBe('é'.repeat(40));
    expectProtocolError(() => decodeMessage(text, { maxFrameBytes: bytes - 1 }), 'FRAME_TOO_LARGE');
    expectProtocolError(() => decodeMessage(Buffer.from(text), { maxFrameBytes: bytes - 1 }), 'FRAME_TOO_LARGE');
  });

  it('codec - refuses a frame one byte over the default 8 MiB limit', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(8 * 1024 * 1024);
    const base = frameWith('content', '');
    const padding = ' '.repeat(DEFAULT_MAX_FRAME_BYTES - base.length);
    expect(decodeMessage(base + padding).content).toBe('');
    expectProtocolError(() => decodeMessage(`${base}${padding} `), 'FRAME_TOO_LARGE');
    expectProtocolError(() => decodeMessage(new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1)), 'FRAME_TOO_LARGE');
  });

  it('codec - refuses 8 MiB of nested brackets before parsing them', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      expectProtocolError(() => decodeMessage('['.repeat(DEFAULT_MAX_FRAME_BYTES)), 'TOO_DEEP');
      expectProtocolError(() => decodeMessage(`{"content":${'{"a":'.repeat(MAX_CONTENT_DEPTH + 1)}`), 'TOO_DEEP', 'content');
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('codec - refuses an invalid maxFrameBytes option', () => {
    for (const maxFrameBytes of [0, -1, 1.5, Number.NaN]) {
      expectProtocolError(() => decodeMessage('{}', { maxFrameBytes }), 'INVALID_OPTION', 'maxFrameBytes');
    }
  });
});

describe('codec - encode rejections', () => {
  it('codec - refuses to encode what the decoder would refuse', () => {
    const msg = sample();
    expectProtocolError(() => encodeMessage({ ...msg, route: { ...msg.route, operation: '' } }), 'INVALID_FIELD', 'route.operation');
    expectProtocolError(() => encodeMessage({ ...msg, header: { ...msg.header, timestamp: -5 } }), 'INVALID_FIELD', 'header.timestamp');
    expectProtocolError(() => encodeMessage({ ...msg, content: nested(MAX_CONTENT_DEPTH + 1) }), 'TOO_DEEP', 'content');
    expectProtocolError(() => encodeMessage({ ...msg, content: JSON.parse('{"__proto__":{}}') }), 'FORBIDDEN_KEY', 'content.__proto__');
  });

  it('codec - encodes content that only looks like what the decoder refuses', () => {
    const msg = { ...sample(), content: { note: '__proto__ is a word', optional: null, list: [[[1]]] } };
    expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
  });

  it('codec - refuses content JSON cannot carry', () => {
    const msg = sample();
    const error = expectProtocolError(() => encodeMessage({ ...msg, content: { n: 1n } }), 'INVALID_FIELD', 'content');
    expect(error.cause).toBeInstanceOf(TypeError);
    expectProtocolError(() => encodeMessage({ ...msg, content: () => 1 }), 'INVALID_FIELD', 'content');
    expectProtocolError(() => encodeMessage({ ...msg, content: { ratio: Number.NaN } }), 'INVALID_FIELD', 'content.ratio');
    expectProtocolError(() => encodeMessage({ ...msg, content: [Number.POSITIVE_INFINITY] }), 'INVALID_FIELD', 'content[0]');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expectProtocolError(() => encodeMessage({ ...msg, content: cyclic }), 'TOO_DEEP', 'content');
  });

  it('codec - refuses to produce a frame over the limit', () => {
    const msg = { ...sample(), content: 'x'.repeat(1000) };
    expectProtocolError(() => encodeMessage(msg, { maxFrameBytes: 1000 }), 'FRAME_TOO_LARGE');
    expect(() => encodeMessage(msg, { maxFrameBytes: 2000 })).not.toThrow();
  });

  it('codec - ProtocolError is an Error with a stable name', () => {
    const error = new ProtocolError('INVALID_FIELD', 'frame field "x": bad', { field: 'x' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ProtocolError');
    expect(String(error)).toBe('ProtocolError: frame field "x": bad');
  });
});
