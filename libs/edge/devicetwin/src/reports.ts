// Edge → cloud: the reported side of a device's twins (and its state) as one message per device.
// Each message carries the device's whole reported state, so an outbox that keeps only the latest
// message per resource (MetaManager's) never loses a property: latest wins, and is complete.
import { Group, Operation, newMessage, type Message } from '@kedge/protocol';
import type { DeviceRecord } from './model';
import { valueMessage, type MsgTwin } from './payloads';

export const TWIN_SOURCE = 'twin';
/** resource type of twin reports: `<namespace>/twin/<name>` */
export const TWIN_REPORT_TYPE = 'twin';

/** What DeviceTwin needs to queue reports: MetaManager's `report` shape (durable, latest per resource wins). */
export interface TwinReporter {
  /** queues a message for the cloud; returns its position in the send order */
  report(message: Message): number;
  /** queues several at once (one transaction in MetaManager's outbox); used for the reports of a burst */
  reportMany?(messages: Message[]): number[];
}

export function reportMessage(device: DeviceRecord): Message {
  // built for every device a turn's updates changed: the reported side only, without the desired value
  // twinMessage adds; plain object literals and a loop (no entries arrays, spreads or fromEntries). Property
  // names start with a letter or digit (checked at the border), so an assignment makes an own field
  const twin: Record<string, unknown> = {};
  for (const state of device.twins) {
    if (state.reported === undefined) continue;
    const metadata: MsgTwin['metadata'] = state.property.unit === undefined ? { type: state.property.type } : { type: state.property.type, unit: state.property.unit };
    twin[state.name] = { actual: valueMessage(state.reported), metadata, version: state.version };
  }
  return newMessage({
    source: TWIN_SOURCE,
    group: Group.Twin,
    operation: Operation.Update,
    resource: `${device.namespace}/${TWIN_REPORT_TYPE}/${device.name}`,
    content: {
      event_id: '',
      timestamp: Date.now(),
      namespace: device.namespace,
      name: device.name,
      state: device.state,
      last_online: device.lastOnline === undefined ? '' : new Date(device.lastOnline).toISOString(),
      twin,
    },
  });
}
