// Property-based tests of the decoder as a network boundary: whatever arrives, it returns a Message or
// throws a ProtocolError, and it never parses a frame over the size limit.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolError, decodeMessage, encodeMessage } from '../src/index';
import type { Message } from '../src/index';

const RUNS = 400;

const HEADER_KEYS = ['msg_id', 'parent_msg_id', 'timestamp', 'resourceversion', 'sync'];
const ROUTE_KEYS = ['source', 'group', 'operation', 'resource'];

/**
 * Decodes `frame`; returns the Message or the ProtocolError code. Anything else thrown escapes and
 * fails the property. An accepted message must be normalised and must survive a re-encode.
 */
function decodeOrCode(frame: unknown): Message | string {
  let msg: Message;
  try {
    msg = decodeMessage(frame as string);
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  expect(Object.keys(msg)).toEqual(['header', 'route', 'content']);
  expect(Object.keys(msg.header).every((key) => HEADER_KEYS.includes(key))).toBe(true);
  expect(Object.keys(msg.route)).toEqual(ROUTE_KEYS);
  expect(isJsonValue(msg.content)).toBe(true);
  // compared as text: JSON has no -0, so "-0" in a frame legitimately comes back as 0
  const encoded = encodeMessage(msg);
  expect(encodeMessage(decodeMessage(encoded))).toBe(encoded);
  return msg;
}

/** True for what JSON can carry unchanged: strings, finite numbers, booleans, null, arrays, plain objects. */
function isJsonValue(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value).every(isJsonValue);
}

function catchProtocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error('expected a ProtocolError');
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw error;
  }
  return 'no error';
}

function hasForbiddenKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.keys(value).some((key) => key === '__proto__' || hasForbiddenKey((value as Record<string, unknown>)[key]));
}

const noControl = (s: string): boolean => !/[\p{Cc}]/u.test(s);
const id = fc.string({ minLength: 1, maxLength: 128, unit: 'binary' }).filter(noControl);
const routeName = (min: 0 | 1) => fc.stringMatching(min === 0 ? /^[A-Za-z0-9_.:-]{0,64}$/ : /^[A-Za-z0-9_.:-]{1,64}$/);
const resource = fc.oneof(
  fc.stringMatching(/^(node\/[a-z0-9-]{1,20}\/)?[a-z0-9-]{1,20}\/[a-z0-9]{1,12}(\/[a-z0-9.-]{1,40})?$/),
  fc.string({ maxLength: 1024, unit: 'binary' }).filter(noControl),
);
// normalised through JSON once: JSON has no -0, so a valid wire message cannot carry one
const content = fc
  .jsonValue({ maxDepth: 5, stringUnit: 'binary' })
  .filter((value) => !hasForbiddenKey(value))
  .map((value) => JSON.parse(JSON.stringify(value)) as unknown);

const validMessage: fc.Arbitrary<Message> = fc
  .record({
    msg_id: id,
    parent_msg_id: fc.option(id, { nil: undefined }),
    timestamp: fc.maxSafeNat(),
    resourceversion: fc.option(fc.stringMatching(/^[0-9]{1,32}$/), { nil: undefined }),
    sync: fc.option(fc.boolean(), { nil: undefined }),
    source: routeName(0),
    group: routeName(1),
    operation: routeName(1),
    resource,
    content,
  })
  .map((r) => ({
    header: {
      msg_id: r.msg_id,
      ...(r.parent_msg_id === undefined ? {} : { parent_msg_id: r.parent_msg_id }),
      timestamp: r.timestamp,
      ...(r.resourceversion === undefined ? {} : { resourceversion: r.resourceversion }),
      ...(r.sync === undefined ? {} : { sync: r.sync }),
    },
    route: { source: r.source, group: r.group, operation: r.operation, resource: r.resource },
    content: r.content,
  }));

/** A value from anywhere, weighted towards the primitives a field check has to tell apart. */
const anyValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, '', 'x', '42', [], {}),
  fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 200 })),
  fc.jsonValue({ maxDepth: 3 }),
  fc.anything({ maxDepth: 3 }),
);
const fieldPath = fc.constantFrom(
  'header',
  'route',
  'content',
  ...HEADER_KEYS.map((key) => `header.${key}`),
  ...ROUTE_KEYS.map((key) => `route.${key}`),
);
const newKey = fc.oneof(fc.constantFrom('__proto__', 'type', 'destination', 'constructor', 'toString'), fc.string({ maxLength: 8 }));

type ObjectMutation =
  | { kind: 'replace'; path: string; value: unknown }
  | { kind: 'drop'; path: string }
  | { kind: 'add'; parent: string; key: string; value: unknown };

const objectMutation: fc.Arbitrary<ObjectMutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), path: fieldPath, value: anyValue }),
  fc.record({ kind: fc.constant('drop' as const), path: fieldPath }),
  fc.record({ kind: fc.constant('add' as const), parent: fc.constantFrom('', 'header', 'route', 'content'), key: newKey, value: anyValue }),
);

/** Applies one mutation to a copy of the frame object `msg` (which need not be valid any more). */
function mutateObject(msg: Message, mutation: ObjectMutation): string {
  const frame = structuredClone(msg) as unknown as Record<string, unknown>;
  const locate = (path: string): [Record<string, unknown> | undefined, string] => {
    const [first, second] = path.split('.') as [string, string | undefined];
    if (second === undefined) return [frame, first];
    const parent = frame[first];
    return [typeof parent === 'object' && parent !== null ? (parent as Record<string, unknown>) : undefined, second];
  };
  if (mutation.kind === 'add') {
    const parent = mutation.parent === '' ? frame : frame[mutation.parent];
    if (typeof parent === 'object' && parent !== null) {
      // defineProperty, so that "__proto__" becomes an own key as JSON.parse would make it
      Object.defineProperty(parent, mutation.key, { value: mutation.value, enumerable: true, writable: true, configurable: true });
    }
  } else {
    const [parent, key] = locate(mutation.path);
    if (parent !== undefined) {
      if (mutation.kind === 'drop') delete parent[key];
      else parent[key] = mutation.value;
    }
  }
  return JSON.stringify(frame) ?? '';
}

type TextMutation =
  | { kind: 'flip'; at: number; char: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number };

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), char: fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 6, unit: 'binary' }), fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\')) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutateText(text: string, mutation: TextMutation): string {
  const at = mutation.at % (text.length + 1);
  switch (mutation.kind) {
    case 'flip':
      return text.slice(0, at) + mutation.char + text.slice(at + 1);
    case 'insert':
      return text.slice(0, at) + mutation.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + mutation.length);
    case 'truncate':
      return text.slice(0, at);
  }
}

describe('codec property - arbitrary input', () => {
  it('codec property - any string decodes or throws ProtocolError', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' })), (s) => void decodeOrCode(s)), { numRuns: RUNS });
  });

  it('codec property - any bytes decode or throw ProtocolError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => void decodeOrCode(bytes)), { numRuns: RUNS });
  });

  it('codec property - any JSON text decodes or throws ProtocolError', () => {
    fc.assert(fc.property(fc.json({ maxDepth: 4 }), (json) => void decodeOrCode(json)), { numRuns: RUNS });
  });

  it('codec property - any value, raw or stringified, decodes or throws ProtocolError', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        decodeOrCode(value);
        const json = JSON.stringify(value) as string | undefined;
        if (json !== undefined) decodeOrCode(json);
      }),
      { numRuns: RUNS },
    );
  });

  it('codec property - message-shaped objects with random fields decode or throw ProtocolError', () => {
    const shaped = fc.record(
      {
        header: fc.oneof(anyValue, fc.record({ msg_id: anyValue, timestamp: anyValue, sync: anyValue }, { requiredKeys: [] })),
        route: fc.oneof(anyValue, fc.record({ source: anyValue, group: anyValue, operation: anyValue, resource: anyValue }, { requiredKeys: [] })),
        content: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(shaped, (frame) => void decodeOrCode(JSON.stringify(frame))), { numRuns: RUNS });
  });
});

describe('codec property - valid messages', () => {
  it('codec property - valid messages round-trip unchanged as text and as bytes', () => {
    fc.assert(
      fc.property(validMessage, (msg) => {
        const frame = encodeMessage(msg);
        expect(decodeMessage(frame)).toEqual(msg);
        expect(decodeMessage(new TextEncoder().encode(frame))).toEqual(msg);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('codec property - mutated frames', () => {
  it('codec property - text mutations decode or throw ProtocolError', () => {
    fc.assert(
      fc.property(validMessage, fc.array(textMutation, { minLength: 1, maxLength: 3 }), (msg, mutations) => {
        decodeOrCode(mutations.reduce(mutateText, encodeMessage(msg)));
      }),
      { numRuns: RUNS },
    );
  });

  it('codec property - replaced, dropped and added fields decode or throw ProtocolError', () => {
    fc.assert(
      fc.property(validMessage, fc.array(objectMutation, { minLength: 1, maxLength: 3 }), (msg, mutations) => {
        let frame = encodeMessage(msg);
        for (const mutation of mutations) {
          const parsed = JSON.parse(frame) as Message;
          frame = mutateObject(parsed, mutation);
          if (typeof decodeOrCode(frame) === 'string') break;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('codec property - a single bad field is reported by its own path', () => {
    fc.assert(
      fc.property(validMessage, fieldPath, anyValue, (msg, path, value) => {
        const result = decodeOrCode(mutateObject(msg, { kind: 'replace', path, value }));
        if (typeof result !== 'string') return;
        const error = catchProtocolError(() => decodeMessage(mutateObject(msg, { kind: 'replace', path, value })));
        // a replaced object may be refused for one of its own keys, e.g. header -> header.msg_id
        expect(error.field === path || error.field?.startsWith(`${path}.`) || error.field?.startsWith(`${path}[`)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('codec property - flipped bytes decode or throw ProtocolError', () => {
    fc.assert(
      fc.property(validMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (msg, flips) => {
        const bytes = new TextEncoder().encode(encodeMessage(msg));
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        decodeOrCode(bytes);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('codec property - size limit', () => {
  afterEach(() => vi.restoreAllMocks());

  it('codec property - frames over the limit are refused without being parsed', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const textOverLimit = fc.string({ minLength: 2, maxLength: 300, unit: 'binary' }).chain((text) => {
      const bytes = Buffer.byteLength(text);
      return fc.tuple(fc.constant(text), fc.integer({ min: 1, max: bytes - 1 }));
    });
    fc.assert(
      fc.property(textOverLimit, ([text, maxFrameBytes]) => {
        expect(codeOf(() => decodeMessage(text, { maxFrameBytes }))).toBe('FRAME_TOO_LARGE');
      }),
      { numRuns: RUNS / 2 },
    );
    // bytes are refused before the UTF-8 check too: random bytes are mostly invalid UTF-8
    const bytesOverLimit = fc.uint8Array({ minLength: 2, maxLength: 300 }).chain((bytes) =>
      fc.tuple(fc.constant(bytes), fc.integer({ min: 1, max: bytes.length - 1 })),
    );
    fc.assert(
      fc.property(bytesOverLimit, ([bytes, maxFrameBytes]) => {
        expect(codeOf(() => decodeMessage(bytes, { maxFrameBytes }))).toBe('FRAME_TOO_LARGE');
      }),
      { numRuns: RUNS / 2 },
    );
    expect(parse).not.toHaveBeenCalled();
  });
});
