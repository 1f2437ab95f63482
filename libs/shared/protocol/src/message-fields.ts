// Field-by-field validation of the beehive message shape. Each reader takes an untrusted value and
// returns a fresh, normalised copy, so nothing the peer sent (extra keys, odd prototypes) survives.
import { ProtocolError, describeValue } from './errors';
import type { Message, MessageHeader, MessageRoute } from './message';

export const MAX_MESSAGE_ID_LENGTH = 128;
export const MAX_RESOURCE_VERSION_LENGTH = 32;
export const MAX_ROUTE_NAME_LENGTH = 64;
export const MAX_RESOURCE_LENGTH = 1024;

const MESSAGE_KEYS = ['header', 'route', 'content'] as const;
const ALLOWED_MESSAGE_KEYS: ReadonlySet<string> = new Set(MESSAGE_KEYS);
// KubeEdge also sends header.type and route.destination; they mean nothing to kedge, so they are
// checked for shape and dropped.
const ALLOWED_HEADER_KEYS: ReadonlySet<string> = new Set(['msg_id', 'parent_msg_id', 'timestamp', 'resourceversion', 'sync', 'type']);
const ALLOWED_ROUTE_KEYS: ReadonlySet<string> = new Set(['source', 'group', 'operation', 'resource', 'destination']);

const ROUTE_NAME = /^[A-Za-z0-9_.:-]*$/;
const DIGITS = /^[0-9]+$/;

function invalid(field: string, expected: string, value: unknown): ProtocolError {
  return new ProtocolError('INVALID_FIELD', `frame field "${field}": expected ${expected}, got ${describeValue(value)}`, {
    field,
  });
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own-property read: a key the peer did not send must never be found on a prototype. */
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function requireKey(record: Record<string, unknown>, key: string, field: string): unknown {
  const value = own(record, key);
  if (value === undefined) {
    throw new ProtocolError('MISSING_FIELD', `frame field "${field}" is required but missing`, { field });
  }
  return value;
}

function rejectUnknownKeys(record: Record<string, unknown>, allowed: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(record)) {
    if (!allowed.has(key)) {
      const field = prefix === '' ? key : `${prefix}.${key}`;
      const known = [...allowed].join(', ');
      throw new ProtocolError('UNKNOWN_FIELD', `frame field "${field}" is not part of a message (allowed: ${known})`, { field });
    }
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

function readId(value: unknown, field: string, allowEmpty: boolean): string {
  const expected = `${allowEmpty ? 'a' : 'a non-empty'} string of at most ${MAX_MESSAGE_ID_LENGTH} characters without control characters`;
  if (typeof value !== 'string' || value.length > MAX_MESSAGE_ID_LENGTH || hasControlCharacter(value)) {
    throw invalid(field, expected, value);
  }
  if (!allowEmpty && value === '') throw invalid(field, expected, value);
  return value;
}

function readRouteName(value: unknown, field: string, allowEmpty: boolean): string {
  if (
    typeof value !== 'string' ||
    value.length > MAX_ROUTE_NAME_LENGTH ||
    (!allowEmpty && value === '') ||
    !ROUTE_NAME.test(value)
  ) {
    const size = allowEmpty ? `at most ${MAX_ROUTE_NAME_LENGTH}` : `1 to ${MAX_ROUTE_NAME_LENGTH}`;
    throw invalid(field, `${size} characters of [A-Za-z0-9_.:-]`, value);
  }
  return value;
}

export function readHeader(value: unknown): MessageHeader {
  if (!isPlainRecord(value)) throw invalid('header', 'an object', value);
  rejectUnknownKeys(value, ALLOWED_HEADER_KEYS, 'header');

  const header: MessageHeader = {
    msg_id: readId(requireKey(value, 'msg_id', 'header.msg_id'), 'header.msg_id', false),
    timestamp: 0,
  };

  const parent = own(value, 'parent_msg_id');
  if (parent !== undefined) {
    // Go's omitempty and our own senders both mean "no parent" by an empty string
    const parentId = readId(parent, 'header.parent_msg_id', true);
    if (parentId !== '') header.parent_msg_id = parentId;
  }

  const timestamp = requireKey(value, 'timestamp', 'header.timestamp');
  if (typeof timestamp !== 'number' || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw invalid('header.timestamp', 'a non-negative integer (unix ms)', timestamp);
  }
  header.timestamp = timestamp === 0 ? 0 : timestamp; // folds -0 into 0

  const resourceVersion = own(value, 'resourceversion');
  if (resourceVersion !== undefined) {
    if (
      typeof resourceVersion !== 'string' ||
      resourceVersion.length > MAX_RESOURCE_VERSION_LENGTH ||
      (resourceVersion !== '' && !DIGITS.test(resourceVersion))
    ) {
      throw invalid('header.resourceversion', `a string of at most ${MAX_RESOURCE_VERSION_LENGTH} digits`, resourceVersion);
    }
    if (resourceVersion !== '') header.resourceversion = resourceVersion;
  }

  const sync = own(value, 'sync');
  if (sync !== undefined) {
    if (typeof sync !== 'boolean') throw invalid('header.sync', 'a boolean', sync);
    header.sync = sync;
  }

  const type = own(value, 'type');
  if (type !== undefined) readRouteName(type, 'header.type', true);
  return header;
}

export function readRoute(value: unknown): MessageRoute {
  if (!isPlainRecord(value)) throw invalid('route', 'an object', value);
  rejectUnknownKeys(value, ALLOWED_ROUTE_KEYS, 'route');

  const route: MessageRoute = {
    source: readRouteName(requireKey(value, 'source', 'route.source'), 'route.source', true),
    group: readRouteName(requireKey(value, 'group', 'route.group'), 'route.group', false),
    operation: readRouteName(requireKey(value, 'operation', 'route.operation'), 'route.operation', false),
    resource: '',
  };

  const resource = requireKey(value, 'resource', 'route.resource');
  if (typeof resource !== 'string' || resource.length > MAX_RESOURCE_LENGTH || hasControlCharacter(resource)) {
    throw invalid('route.resource', `a string of at most ${MAX_RESOURCE_LENGTH} characters without control characters`, resource);
  }
  route.resource = resource;

  const destination = own(value, 'destination');
  if (destination !== undefined) readRouteName(destination, 'route.destination', true);
  return route;
}

/**
 * Validates a whole message object. `content` is required (so a dropped key is noticed) but may be
 * null; it is returned as is, so callers pass values they already own (freshly parsed or checked).
 */
export function readMessage(value: unknown): Message {
  if (!isPlainRecord(value)) {
    throw new ProtocolError('NOT_AN_OBJECT', `frame: expected a JSON object with header, route and content, got ${describeValue(value)}`);
  }
  for (const key of MESSAGE_KEYS) requireKey(value, key, key);
  rejectUnknownKeys(value, ALLOWED_MESSAGE_KEYS, '');
  return {
    header: readHeader(value['header']),
    route: readRoute(value['route']),
    content: value['content'],
  };
}
