// Outbound payloads, shaped as KubeEdge's (`edge/pkg/devicetwin/dttype`) so existing mappers and
// apps decode them: `value` stays KubeEdge's string form; `typed_value`, `version` and `clientToken`
// are our additions, ignored by clients that do not know them.
import type { DeviceTwinError } from './errors';
import type { DeviceRecord, TimedValue, TwinState, TwinValue } from './model';
import type { TwinChange } from './store/twin-store';
import { formatValue } from './values';

export interface MsgValue {
  /** KubeEdge's string form */
  value: string;
  /** the value as its property's type */
  typed_value: TwinValue;
  metadata: { timestamp: number };
}

export interface MsgTwin {
  expected?: MsgValue;
  actual?: MsgValue;
  optional: boolean;
  metadata: { type: string; unit?: string };
  version: number;
}

export interface BaseMessage {
  event_id: string;
  timestamp: number;
}

export function valueMessage(timed: TimedValue): MsgValue {
  return { value: formatValue(timed.value), typed_value: timed.value, metadata: { timestamp: timed.timestamp } };
}

export function twinMessage(twin: TwinState): MsgTwin {
  const message: MsgTwin = { optional: false, metadata: { type: twin.property.type }, version: twin.version };
  if (twin.property.unit !== undefined) message.metadata.unit = twin.property.unit;
  if (twin.desired) message.expected = valueMessage(twin.desired);
  if (twin.reported) message.actual = valueMessage(twin.reported);
  return message;
}

export function twinsMessage(twins: TwinState[]): Record<string, MsgTwin> {
  return Object.fromEntries(twins.map((twin) => [twin.name, twinMessage(twin)]));
}

export function base(eventId = ''): BaseMessage {
  return { event_id: eventId, timestamp: Date.now() };
}

/** A success result: the request's event_id and clientToken, plus what the action returns. */
export function result(eventId: string, clientToken: string | undefined, fields: Record<string, unknown>): Record<string, unknown> {
  const message: Record<string, unknown> = { event_id: eventId, timestamp: Date.now() };
  if (clientToken !== undefined) message['clientToken'] = clientToken;
  return Object.assign(message, fields);
}

/** The twins an update changed, as they are now: a twin update's result (built for every update someone reads). */
export function changedTwinsMessage(changes: TwinChange[]): Record<string, MsgTwin> {
  const twins: Record<string, MsgTwin> = {};
  // property names start with a letter or digit (checked at the border): a plain assignment is an own field
  for (const change of changes) if (change.after !== undefined) twins[change.name] = twinMessage(change.after);
  return twins;
}

/** A device's state as state/get and state/update answer it: `{name, namespace, state, last_online}`. */
export function stateMessage(device: DeviceRecord): Record<string, unknown> {
  return {
    name: device.name,
    namespace: device.namespace,
    state: device.state,
    last_online: device.lastOnline === undefined ? '' : new Date(device.lastOnline).toISOString(),
  };
}

/** An error result: KubeEdge's `code` and `reason`, plus the field at fault and our error code. */
export function errorResult(eventId: string, clientToken: string | undefined, error: DeviceTwinError): Record<string, unknown> {
  return result(eventId, clientToken, {
    code: error.resultCode,
    reason: error.message,
    error_code: error.code,
    ...(error.field === undefined ? {} : { field: error.field }),
  });
}

/** Membership's Device (`{id, name, description, state, last_online, attributes, twin}`), id = `<namespace>/<name>`. */
export function deviceMessage(device: DeviceRecord): Record<string, unknown> {
  return {
    id: device.id,
    name: device.name,
    namespace: device.namespace,
    description: device.description,
    model: device.model,
    state: device.state,
    last_online: device.lastOnline === undefined ? '' : new Date(device.lastOnline).toISOString(),
    attributes: Object.fromEntries(Object.entries(device.attributes).map(([name, value]) => [name, { value, optional: true, metadata: { type: 'string' } }])),
    twin: twinsMessage(device.twins),
  };
}

/** `{..., twin: <all twins>, delta: {<prop>: "<desired>"}}` when some desired value differs from the reported one. */
export function deltaMessage(device: DeviceRecord): Record<string, unknown> | undefined {
  const differing = device.twins.filter((twin) => twin.desired !== undefined && twin.desired.value !== twin.reported?.value);
  if (differing.length === 0) return undefined;
  return {
    ...base(),
    twin: twinsMessage(device.twins),
    delta: Object.fromEntries(differing.map((twin) => [twin.name, formatValue((twin.desired as TimedValue).value)])),
  };
}

/** `{..., state, attributes}`: a device the cloud updated (`.../updated`). */
export function updatedMessage(device: DeviceRecord): Record<string, unknown> {
  return { ...base(), state: device.state, attributes: deviceMessage(device)['attributes'] };
}

/** `{..., twin: {<prop>: {last, current}}}` for the twins that changed (null when absent). */
export function documentMessage(changes: TwinChange[]): Record<string, unknown> {
  return {
    ...base(),
    twin: Object.fromEntries(
      changes.map((change) => [change.name, { last: change.before ? twinMessage(change.before) : null, current: change.after ? twinMessage(change.after) : null }]),
    ),
  };
}
