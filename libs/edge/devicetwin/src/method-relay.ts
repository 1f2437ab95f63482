// DeviceMethodRelay: the edge end of device methods invoked from the cloud (group `devicemethod`, see
// @kedge/device-api method-call). It checks the device is bound to this node, publishes the call on the
// device's MQTT method topic (where the mapper, in edgecore or standalone, answers), waits for the result
// carrying the call's event_id, and answers the cloud with it. No answer in time is an error reply naming
// the device and method, so the cloud's caller learns that no mapper runs for the device.
import { DEVICE_METHOD_GROUP, DEVICE_METHOD_OPERATION, DEVICE_METHOD_TYPE, methodTopic, readDeviceMethodCall, readDeviceMethodResult, type DeviceMethodCall } from '@kedge/device-api';
import { Operation, ProtocolError, newErrorResponse, newResponse, parseEdgeResource, type Message } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import { Counter, type Registry } from 'prom-client';
import type { TwinBus } from './publisher';

export const METHOD_RELAY_SOURCE = 'devicetwin';

export interface DeviceMethodRelayOptions {
  router: MessageRouter;
  bus: TwinBus;
  /** EdgeHub.send */
  send(message: Message): Promise<void>;
  /** whether `<namespace>/<name>` is a device bound to this node */
  isMember(id: string): boolean;
  logger: Logger;
  registry?: Registry;
}

type RelayResult = 'answered' | 'refused' | 'timeout' | 'bad-result';

class RefusedCall extends Error {}

export class DeviceMethodRelay {
  readonly #unregister: () => void;
  readonly #calls: Counter<'result'> | undefined;
  readonly #pending = new Set<() => void>();

  constructor(private readonly options: DeviceMethodRelayOptions) {
    this.#calls = options.registry
      ? new Counter({ name: 'kedge_devicetwin_method_calls_total', help: 'Device methods invoked from the cloud, by result (answered, refused, timeout, bad-result)', labelNames: ['result'], registers: [options.registry] })
      : undefined;
    this.#unregister = options.router.register(DEVICE_METHOD_GROUP, (message) => this.#receive(message));
  }

  close(): void {
    this.#unregister();
    for (const cancel of this.#pending) cancel();
    this.#pending.clear();
    this.options.registry?.removeSingleMetric('kedge_devicetwin_method_calls_total');
  }

  async #receive(message: Message): Promise<void> {
    // an answer to nothing we asked (the cloud never answers a call): ignore, never answer an answer
    if (message.route.operation === Operation.Response || message.route.operation === Operation.Error) return;
    let id: string;
    let call: DeviceMethodCall;
    try {
      ({ id, call } = this.#read(message));
    } catch (error) {
      if (!(error instanceof RefusedCall)) throw error;
      this.#count('refused');
      this.options.logger.warn({ resource: message.route.resource }, error.message);
      await this.#reply(newErrorResponse(message, error.message, METHOD_RELAY_SOURCE));
      return;
    }
    const eventId = `cloud-${message.header.msg_id}`;
    let content: unknown;
    try {
      content = await this.#callMapper(id, call, eventId);
    } catch (error) {
      const timedOut = error instanceof CallTimeout;
      this.#count(timedOut ? 'timeout' : 'bad-result');
      const reason = `device ${id} method ${call.method}: ${(error as Error).message}`;
      this.options.logger.warn({ device: id, method: call.method }, reason);
      await this.#reply(newErrorResponse(message, reason, METHOD_RELAY_SOURCE));
      return;
    }
    this.#count('answered');
    await this.#reply(newResponse(message, content, METHOD_RELAY_SOURCE));
  }

  #read(message: Message): { id: string; call: DeviceMethodCall } {
    if (message.route.operation !== DEVICE_METHOD_OPERATION) throw new RefusedCall(`device method: operation ${JSON.stringify(message.route.operation)} is not supported, only "${DEVICE_METHOD_OPERATION}"`);
    let resource;
    try {
      resource = parseEdgeResource(message.route.resource);
    } catch (error) {
      if (error instanceof ProtocolError) throw new RefusedCall(`device method: ${error.message}`);
      throw error;
    }
    if (resource.type !== DEVICE_METHOD_TYPE || resource.name === undefined) throw new RefusedCall(`device method: resource must be <namespace>/${DEVICE_METHOD_TYPE}/<device>`);
    const id = `${resource.namespace}/${resource.name}`;
    if (!this.options.isMember(id)) throw new RefusedCall(`device ${id} is not bound to this node`);
    try {
      return { id, call: readDeviceMethodCall(message.content) };
    } catch (error) {
      throw new RefusedCall(`device ${id}: ${(error as Error).message}`);
    }
  }

  /** Publishes the call and resolves with the mapper's result for this event_id. */
  #callMapper(id: string, call: DeviceMethodCall, eventId: string): Promise<unknown> {
    const topic = methodTopic(id, call.method);
    return new Promise((resolve, reject) => {
      let settled = false;
      let unsubscribe = (): void => undefined;
      // fires later, after `finish` exists
      const timer = setTimeout(
        () => finish(() => reject(new CallTimeout(`no mapper answered within ${call.timeoutMs} ms (is a mapper running for this device, and connected to the broker?)`))),
        call.timeoutMs,
      );
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        unsubscribe();
        this.#pending.delete(cancel);
        settle();
      };
      const cancel = (): void => finish(() => reject(new Error('edgecore is stopping')));
      this.#pending.add(cancel);
      const subscription = this.options.bus.subscribe(`${topic}/result`, ({ payload }) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(payload.toString('utf8'));
        } catch {
          return; // not JSON: not our answer; the timeout reports silence
        }
        if ((parsed as { event_id?: unknown } | null)?.event_id !== eventId) return; // another caller's answer
        try {
          const result = readDeviceMethodResult(parsed);
          finish(() => resolve(result));
        } catch (error) {
          finish(() => reject(new Error(`the mapper's result is malformed: ${(error as Error).message}`)));
        }
      });
      if (settled) subscription();
      else unsubscribe = subscription;
      this.options.bus.publish(topic, JSON.stringify({ event_id: eventId, timestamp: Date.now(), values: call.values }), { qos: 1 }).catch((error: unknown) => {
        finish(() => reject(new Error(`the call could not be published on ${topic}: ${(error as Error).message}`)));
      });
    });
  }

  async #reply(message: Message): Promise<void> {
    try {
      await this.options.send(message);
    } catch (error) {
      // the link went down: the cloud's request times out on its side
      this.options.logger.debug({ error: (error as Error).message }, 'device method answer not sent');
    }
  }

  #count(result: RelayResult): void {
    this.#calls?.inc({ result });
  }
}

class CallTimeout extends Error {}
