// Edge → cloud: the reported side of a device's twins (and its state) as one message per device.
// Each message carries the device's whole reported state, so an outbox that keeps only the latest
// message per resource (MetaManager's) never loses a property: latest wins, and is complete.
import { Group, Operation, newMessage, type Message } from '@kedge/protocol';
import type { DeviceRecord } from './model';
import { base, twinMessage } from './payloads';

export const TWIN_SOURCE = 'twin';
/** resource type of twin reports: `<namespace>/twin/<name>` */
export const TWIN_REPORT_TYPE = 'twin';

/** What DeviceTwin needs to queue reports: MetaManager's `report` shape (durable, latest per resource wins). */
export interface TwinReporter {
  /** queues a message for the cloud; returns its position in the send order */
  report(message: Message): number;
}

export function reportMessage(device: DeviceRecord): Message {
  const twin = Object.fromEntries(
    device.twins
      .filter((state) => state.reported !== undefined)
      .map((state) => {
        const { actual, metadata, version } = twinMessage(state);
        return [state.name, { actual, metadata, version }];
      }),
  );
  return newMessage({
    source: TWIN_SOURCE,
    group: Group.Twin,
    operation: Operation.Update,
    resource: `${device.namespace}/${TWIN_REPORT_TYPE}/${device.name}`,
    content: {
      ...base(),
      namespace: device.namespace,
      name: device.name,
      state: device.state,
      last_online: device.lastOnline === undefined ? '' : new Date(device.lastOnline).toISOString(),
      twin,
    },
  });
}
