// The MQTT side a DeviceRunner talks to, carried over DMI instead of a broker: its `twin/update` and
// `state/update` publications become ReportDeviceStatus / ReportDeviceStates calls to edgecore, and
// desired values edgecore sends with UpdateDevice come back to the runner as `twin/update/delta`
// messages. Device methods have no DMI call; their results are dropped (see README).
import { EventEmitter } from 'node:events';
import { deviceTopic } from '@kedge/device-api';
import type { MapperLink } from '@kedge/dmi';
import { isRecord } from '@kedge/kube-core';
import type { MqttClient } from 'mqtt';

const TOPIC = /^\$hw\/events\/device\/([^/]+)\/([^/]+)\/(twin\/update|state\/update)$/;

export class DmiTwinChannel extends EventEmitter {
  readonly disconnected = false;

  constructor(private readonly link: Pick<MapperLink, 'reportStatus' | 'reportState'>) {
    super();
    // one listener per device runner
    this.setMaxListeners(0);
  }

  /** The runner's client: the methods DeviceRunner calls on an MqttClient. */
  asMqtt(): MqttClient {
    return this as unknown as MqttClient;
  }

  async subscribeAsync(): Promise<[]> {
    return [];
  }

  async unsubscribeAsync(): Promise<void> {}

  /** A runner's report → the DMI call; a refusal from edgecore rejects, and the runner counts it as a fault. */
  async publishAsync(topic: string, payload: string): Promise<void> {
    const match = TOPIC.exec(topic);
    if (match === null) return;
    const [, namespace = '', name = '', action] = match;
    const body: unknown = JSON.parse(payload);
    if (!isRecord(body)) return;
    if (action === 'state/update') {
      await this.link.reportState(namespace, name, String(body['state']));
      return;
    }
    const reported: Record<string, string> = {};
    for (const [property, twin] of Object.entries(isRecord(body['twin']) ? body['twin'] : {})) {
      if (isRecord(twin) && isRecord(twin['actual']) && typeof twin['actual']['value'] === 'string') reported[property] = twin['actual']['value'];
    }
    if (Object.keys(reported).length > 0) await this.link.reportStatus(namespace, name, reported);
  }

  /** Desired values from edgecore, handed to the device's runner as a twin delta. */
  deliverDesired(id: string, desired: Record<string, string>): void {
    this.emit('message', deviceTopic(id, 'twin/update/delta'), Buffer.from(JSON.stringify({ delta: desired })));
  }
}
