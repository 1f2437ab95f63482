// KubeEdge's DeviceTwin MQTT payloads (edge/pkg/devicetwin/dttype) as the mapper uses them; the topics
// they travel on are @kedge/device-api's contract.
import { randomUUID } from 'node:crypto';

export type DeviceState = 'online' | 'offline';

export interface TwinValue {
  value: string;
  metadata: { timestamp: number };
}

export interface TwinUpdateMessage {
  event_id: string;
  timestamp: number;
  twin: Record<string, { actual?: TwinValue; expected?: TwinValue; metadata: { type: string } }>;
}

export interface StateUpdateMessage {
  event_id: string;
  timestamp: number;
  state: DeviceState;
}

/** the delta edgecore sends: `delta` maps property → desired string; `twin` carries the full twin */
export interface TwinDeltaMessage {
  event_id?: string;
  timestamp?: number;
  twin?: Record<string, { expected?: { value?: string } }>;
  delta?: Record<string, string>;
}

export function twinUpdate(reported: Record<string, { value: string; type: string }>, now = Date.now()): TwinUpdateMessage {
  const twin: TwinUpdateMessage['twin'] = {};
  for (const [name, { value, type }] of Object.entries(reported)) {
    twin[name] = { actual: { value, metadata: { timestamp: now } }, metadata: { type } };
  }
  return { event_id: randomUUID(), timestamp: now, twin };
}

export function stateUpdate(state: DeviceState, now = Date.now()): StateUpdateMessage {
  return { event_id: randomUUID(), timestamp: now, state };
}

/** desired values in a delta message: `delta` first, else each twin's expected value */
export function desiredFromDelta(message: TwinDeltaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, twin] of Object.entries(message.twin ?? {})) {
    if (typeof twin?.expected?.value === 'string') out[name] = twin.expected.value;
  }
  for (const [name, value] of Object.entries(message.delta ?? {})) {
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
