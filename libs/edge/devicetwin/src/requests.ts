// Reading MQTT requests from mappers and apps. KubeEdge's payloads are accepted as they are
// (`event_id`, `timestamp`, `twin: {<prop>: {actual: {value: "20"}, metadata: {type: "int"}}}`), plus
// our additions: `clientToken` (echoed in the result) and a per-property `version` guard.
import { isRecord } from '@kedge/kube-core';
import { DeviceTwinError, shown } from './errors';
import { DEVICE_STATES, type DeviceRecord, type DeviceState } from './model';
import type { ReportedUpdate } from './store/twin-store';
import { readPropertyType, readValue } from './values';

export interface RequestBase {
  eventId: string;
  clientToken: string | undefined;
}

const MAX_EVENT_ID = 128;
const MAX_CLIENT_TOKEN = 128;
const MAX_PROPERTIES_PER_UPDATE = 256;

/** A short form of a client-chosen name for use inside a field path. */
function fieldName(name: string): string {
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

/**
 * Parses the payload as a JSON object; an empty payload counts as `{}` when `allowEmpty` (get requests).
 * @throws DeviceTwinError PAYLOAD_TOO_LARGE, BAD_PAYLOAD
 */
export function readPayload(payload: Buffer, maxBytes: number, allowEmpty: boolean): Record<string, unknown> {
  if (payload.length > maxBytes) throw new DeviceTwinError('PAYLOAD_TOO_LARGE', `payload of ${payload.length} bytes is larger than ${maxBytes}`, 'payload');
  if (payload.length === 0 && allowEmpty) return {};
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new DeviceTwinError('BAD_PAYLOAD', 'is not JSON', 'payload');
  }
  if (!isRecord(body)) throw new DeviceTwinError('BAD_PAYLOAD', `must be a JSON object, got ${shown(body)}`, 'payload');
  return body;
}

/** `event_id` and `clientToken`. @throws DeviceTwinError BAD_FIELD */
export function readBase(body: Record<string, unknown>): RequestBase {
  const eventId = body['event_id'] ?? '';
  if (typeof eventId !== 'string' || eventId.length > MAX_EVENT_ID) throw new DeviceTwinError('BAD_FIELD', `must be a string of at most ${MAX_EVENT_ID} characters, got ${shown(eventId)}`, 'event_id');
  const clientToken = body['clientToken'];
  if (clientToken !== undefined && (typeof clientToken !== 'string' || clientToken.length > MAX_CLIENT_TOKEN)) {
    throw new DeviceTwinError('BAD_FIELD', `must be a string of at most ${MAX_CLIENT_TOKEN} characters, got ${shown(clientToken)}`, 'clientToken');
  }
  return { eventId, clientToken };
}

/** Whatever of `event_id` / `clientToken` can be recovered from a payload, for an error result. */
export function peekBase(payload: Buffer): RequestBase {
  try {
    const body: unknown = JSON.parse(payload.toString('utf8'));
    if (!isRecord(body)) return { eventId: '', clientToken: undefined };
    const eventId = body['event_id'];
    const clientToken = body['clientToken'];
    return {
      eventId: typeof eventId === 'string' && eventId.length <= MAX_EVENT_ID ? eventId : '',
      clientToken: typeof clientToken === 'string' && clientToken.length <= MAX_CLIENT_TOKEN ? clientToken : undefined,
    };
  } catch {
    return { eventId: '', clientToken: undefined };
  }
}

/**
 * Reads a twin update from a mapper or app: reported (`actual`) values only, each converted to its
 * property's type and checked against its limits.
 * @throws DeviceTwinError BAD_FIELD, UNKNOWN_PROPERTY, NOT_ALLOWED, WRONG_TYPE, OUT_OF_RANGE
 */
export function readTwinUpdate(body: Record<string, unknown>, device: DeviceRecord): ReportedUpdate[] {
  const twin = body['twin'];
  if (!isRecord(twin)) throw new DeviceTwinError('BAD_FIELD', `must be an object of properties, got ${shown(twin)}`, 'twin');
  const names = Object.keys(twin);
  if (names.length === 0) throw new DeviceTwinError('BAD_FIELD', 'names no property', 'twin');
  if (names.length > MAX_PROPERTIES_PER_UPDATE) throw new DeviceTwinError('BAD_FIELD', `names more than ${MAX_PROPERTIES_PER_UPDATE} properties`, 'twin');
  // runs for every update: a device has few twins, so a scan beats building a Map each time; a large model
  // gets the Map (an update may name 256 properties)
  const properties = device.twins.length > 16 ? new Map(device.twins.map((state) => [state.name, state.property])) : undefined;
  return names.map((name) => {
    const entry = twin[name];
    const at = `twin.${fieldName(name)}`;
    const property = properties === undefined ? device.twins.find((state) => state.name === name)?.property : properties.get(name);
    if (property === undefined) throw new DeviceTwinError('UNKNOWN_PROPERTY', `model ${device.model} has no property ${shown(name)}`, at);
    if (!isRecord(entry)) throw new DeviceTwinError('BAD_FIELD', `must be an object with actual.value, got ${shown(entry)}`, at);
    if (entry['expected'] !== undefined && entry['expected'] !== null) {
      throw new DeviceTwinError('NOT_ALLOWED', 'desired values are set by the cloud (Device spec); the edge reports actual values only', `${at}.expected`);
    }
    const actual = entry['actual'];
    if (!isRecord(actual)) throw new DeviceTwinError('BAD_FIELD', `must be an object with a value, got ${shown(actual)}`, `${at}.actual`);
    if (actual['value'] === undefined || actual['value'] === null) throw new DeviceTwinError('BAD_FIELD', 'is missing', `${at}.actual.value`);
    const metadata = entry['metadata'];
    if (metadata !== undefined && metadata !== null) {
      if (!isRecord(metadata)) throw new DeviceTwinError('BAD_FIELD', `must be an object, got ${shown(metadata)}`, `${at}.metadata`);
      if (metadata['type'] !== undefined && metadata['type'] !== '') {
        const declared = readPropertyType(metadata['type'], `${at}.metadata.type`);
        if (declared !== property.type) {
          throw new DeviceTwinError('WRONG_TYPE', `says ${declared}, but property "${name}" is ${property.type} in model ${device.model}`, `${at}.metadata.type`);
        }
      }
    }
    const version = entry['version'];
    if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)) {
      throw new DeviceTwinError('BAD_FIELD', `must be the twin's current version (a non-negative integer), got ${shown(version)}`, `${at}.version`);
    }
    const update: ReportedUpdate = { name, value: readValue(actual['value'], property, `${at}.actual.value`) };
    if (version !== undefined) update.version = version;
    return update;
  });
}

/** `state`: online, offline or unknown (KubeEdge's values). @throws DeviceTwinError BAD_FIELD */
export function readStateUpdate(body: Record<string, unknown>): DeviceState {
  const state = body['state'];
  if (typeof state !== 'string' || !(DEVICE_STATES as readonly string[]).includes(state)) {
    throw new DeviceTwinError('BAD_FIELD', `must be one of ${DEVICE_STATES.join(', ')}, got ${shown(state)}`, 'state');
  }
  return state as DeviceState;
}
