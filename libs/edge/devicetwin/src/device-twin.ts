// DeviceTwin: the edge module that owns group `twin`. It answers KubeEdge's DeviceTwin MQTT API
// from the local store whether or not the cloud is reachable, applies the cloud's device messages,
// and queues every reported change for the cloud through the injected reporter (an outbox).
import { deviceTopic, membershipTopic, parseRequestTopic, requestFilters, type DeviceAction } from '@kedge/device-api';
import { Group, type Message } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { CloudSync, type DevicesChangedEvent } from './cloud-sync';
import { DeviceTwinError } from './errors';
import { DeviceTwinMetrics } from './metrics';
import { deviceId, type DeviceRecord } from './model';
import { changedTwinsMessage, deviceMessage, errorResult, result, stateMessage, twinsMessage } from './payloads';
import { TwinPublisher, type TwinBus } from './publisher';
import { reportMessage, type TwinReporter } from './reports';
import { peekBase, readBase, readPayload, readStateUpdate, readTwinUpdate, type RequestBase } from './requests';
import type { TwinChange, TwinStore } from './store/twin-store';

export interface DeviceTwinOptions {
  store: TwinStore;
  /** the eventbus (EventBus from @kedge/eventbus) */
  bus: TwinBus;
  router: MessageRouter;
  /** where reported state goes for the cloud, e.g. a durable outbox (MetaManager's report shape) */
  reporter: TwinReporter;
  /** sends ACKs / error answers for down messages (EdgeHub's send) */
  answer?: (message: Message) => void | Promise<void>;
  nodeName: string;
  logger: Logger;
  registry: Registry;
  /** requests above this size get a 413 result (default 64 KiB) */
  maxPayloadBytes?: number;
  /** QoS of everything the twin publishes (default 1) */
  qos?: 0 | 1;
  /** also serve KubeEdge ≤ 1.16 topics `$hw/events/device/<name>/...` for devices in `legacyNamespace` (default false) */
  legacyTopics?: boolean;
  /** default `default` */
  legacyNamespace?: string;
}

type Action = 'twin_update' | 'twin_get' | 'state_update' | 'state_get' | 'membership_get';

const ACTIONS: Record<DeviceAction, Action> = {
  'twin/update': 'twin_update',
  'twin/get': 'twin_get',
  'state/update': 'state_update',
  'state/get': 'state_get',
};

/** A request topic read: the device (or membership) and action, and the topic of its result. */
interface RequestRoute {
  parsed: { kind: 'membership-get'; node: string } | { kind: 'device'; action: DeviceAction; id: string };
  action: Action;
  resultTopic: string;
}

/** request topics remembered by DeviceTwin (per topic: what it asks, where the answer goes) */
const MAX_ROUTES = 4096;

/** What a request is answered with; `changed` is broadcast (document, delta) after the result. */
interface RequestOutcome {
  /** undefined for a twin update: its result is built from `changed`, and only when someone subscribes to it */
  answer: Record<string, unknown> | undefined;
  request: RequestBase;
  changed: { device: DeviceRecord; changes: TwinChange[] } | undefined;
  /** the request wrote to the store: answer it only once that is on disk */
  wrote: boolean;
}

/** The result payload of a request: a twin update's is built from its changes (the twins as they are now). */
function answerOf(outcome: RequestOutcome): Record<string, unknown> {
  if (outcome.answer !== undefined) return outcome.answer;
  return result(outcome.request.eventId, outcome.request.clientToken, { twin: changedTwinsMessage(outcome.changed?.changes ?? []) });
}

export class DeviceTwin {
  readonly #store: TwinStore;
  readonly #reporter: TwinReporter;
  readonly #nodeName: string;
  readonly #logger: Logger;
  readonly #metrics: DeviceTwinMetrics;
  readonly #publisher: TwinPublisher;
  readonly #maxPayloadBytes: number;
  readonly #legacyNamespace: string | undefined;
  readonly #logThrottle = new LogThrottle();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #deviceListeners = new Set<(event: DevicesChangedEvent) => void>();
  /** reports of MQTT requests of this turn, latest per device, queued together when it ends */
  readonly #turnReports = new Map<string, DeviceRecord>();
  #turnReportsScheduled = false;
  readonly #routes = new Map<string, RequestRoute>();
  #stopped = false;

  /** Registers group `twin` on the router and subscribes to the twin topics on the bus. */
  constructor(options: DeviceTwinOptions) {
    const maxPayloadBytes = options.maxPayloadBytes ?? 64 * 1024;
    if (!Number.isInteger(maxPayloadBytes) || maxPayloadBytes < 1) throw new DeviceTwinError('INVALID_OPTION', 'must be a positive integer', 'maxPayloadBytes');
    if (typeof options.nodeName !== 'string' || options.nodeName === '') throw new DeviceTwinError('INVALID_OPTION', 'is required', 'nodeName');
    this.#store = options.store;
    this.#reporter = options.reporter;
    this.#nodeName = options.nodeName;
    this.#maxPayloadBytes = maxPayloadBytes;
    this.#legacyNamespace = options.legacyTopics ? (options.legacyNamespace ?? 'default') : undefined;
    this.#logger = options.logger.child({ module: 'devicetwin', node: options.nodeName });
    this.#metrics = new DeviceTwinMetrics(options.registry, options.store);
    this.#publisher = new TwinPublisher({
      bus: options.bus,
      qos: options.qos ?? 1,
      nodeName: options.nodeName,
      legacyNamespace: this.#legacyNamespace,
      logger: this.#logger,
      metrics: this.#metrics,
    });
    const cloud = new CloudSync({
      store: options.store,
      nodeName: options.nodeName,
      publisher: this.#publisher,
      metrics: this.#metrics,
      logger: this.#logger,
      answer: options.answer,
      reportDevice: (id) => this.#reportDevice(id),
      devicesChanged: (event) => this.#devicesChanged(event),
    });
    this.#unsubscribe.push(options.router.register(Group.Twin, (message) => cloud.onMessage(message)));
    for (const filter of requestFilters(options.legacyTopics ?? false)) {
      // a PUBACK for a twin request means it is stored: the broker sends it once #onRequest's write is on disk
      this.#unsubscribe.push(options.bus.subscribe(filter, (message) => this.#onRequest(message.topic, message.payload), { acknowledgeAfterHandler: true }));
    }
  }

  /**
   * Queues the reported state of every device for the cloud, e.g. after a reconnect so the cloud's
   * DeviceStatus matches the edge (edge wins for reported). @returns how many devices were queued
   */
  reportAll(): number {
    let queued = 0;
    for (const device of this.#store.devices()) {
      if (device.state === 'unknown' && device.twins.every((twin) => twin.reported === undefined)) continue;
      if (this.#report(device)) queued += 1;
    }
    return queued;
  }

  /** The devices bound to this node, as stored. */
  devices(): DeviceRecord[] {
    return this.#store.devices();
  }

  /**
   * Calls `listener` after each cloud message the store accepted, once it is committed, ACKed and
   * announced on MQTT: how in-process mappers follow membership. @returns unsubscribe
   */
  onDevicesChanged(listener: (event: DevicesChangedEvent) => void): () => void {
    this.#deviceListeners.add(listener);
    return () => void this.#deviceListeners.delete(listener);
  }

  /**
   * A mapper's report that did not come over MQTT (DMI's ReportDeviceStatus / ReportDeviceStates):
   * `body` is a `twin/update` or `state/update` payload, applied exactly as if published on the device's
   * topic (typed, range-checked, stored, reported to the cloud, document and delta published) and counted
   * the same way. @throws DeviceTwinError naming the field at fault; nothing is stored then
   */
  async applyReport(namespace: string, name: string, action: 'twin/update' | 'state/update', body: Record<string, unknown>): Promise<void> {
    if (this.#stopped) throw new DeviceTwinError('STORE_CLOSED', 'the device twin is stopped');
    const kind: Action = action === 'twin/update' ? 'twin_update' : 'state_update';
    const device = deviceId(namespace, name);
    let outcome: RequestOutcome;
    try {
      outcome = this.#deviceRequest(action, device, body, readBase(body));
      // a write is acknowledged (the gRPC answer) only once it is on disk, as an MQTT request's PUBACK
      if (outcome.wrote) await this.#store.whenDurable();
      this.#metrics.request(kind, 'ok');
    } catch (error) {
      const refusal = error instanceof DeviceTwinError ? error : new DeviceTwinError('INTERNAL', 'the twin could not process this report', undefined, { cause: error });
      if (refusal.code === 'INTERNAL') this.#logger.error({ error, device }, 'twin report failed');
      this.#metrics.request(kind, refusal.code.toLowerCase());
      throw refusal;
    }
    // no MQTT requester waits for a result; the document and delta go out as for an MQTT report
    if (outcome.changed !== undefined) await this.#publisher.twinsChanged(outcome.changed.device, outcome.changed.changes);
  }

  /** Unsubscribes from the bus and the router. The store stays open (its owner closes it). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#queueTurnReports();
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#deviceListeners.clear();
  }

  #devicesChanged(event: DevicesChangedEvent): void {
    for (const listener of this.#deviceListeners) {
      try {
        listener(event);
      } catch (error) {
        // a listener's failure is its own: the change is stored and acknowledged either way
        this.#logger.error({ error }, 'a device change listener failed');
      }
    }
  }

  async #onRequest(topic: string, payload: Buffer): Promise<void> {
    if (this.#stopped) return;
    const route = this.#route(topic);
    if (route === undefined) return;
    const { parsed, action, resultTopic } = route;
    let outcome: RequestOutcome;
    try {
      const allowEmpty = action !== 'twin_update' && action !== 'state_update';
      const body = readPayload(payload, this.#maxPayloadBytes, allowEmpty);
      const request = readBase(body);
      if (parsed.kind === 'membership-get') {
        outcome = { answer: result(request.eventId, request.clientToken, { devices: this.#store.devices().map(deviceMessage) }), request, changed: undefined, wrote: false };
      } else {
        outcome = this.#deviceRequest(parsed.action, parsed.id, body, request);
      }
      // counted once the write is on disk (below): a failed fsync turns it into an INTERNAL error
      if (!outcome.wrote) this.#metrics.request(action, 'ok');
    } catch (error) {
      const refusal = error instanceof DeviceTwinError ? error : new DeviceTwinError('INTERNAL', 'the twin could not process this request', undefined, { cause: error });
      if (refusal.code === 'INTERNAL') this.#logger.error({ error, topic }, 'twin request failed');
      this.#metrics.request(action, refusal.code.toLowerCase());
      this.#logThrottle.run(`refused:${action}:${refusal.code}`, (suppressed) =>
        this.#logger.info({ topic: topic.slice(0, 200), error: refusal.message, suppressed }, 'refused a twin request'),
      );
      const request = peekBase(payload);
      outcome = { answer: errorResult(request.eventId, request.clientToken, refusal), request, changed: undefined, wrote: false };
    }
    if (outcome.wrote) {
      try {
        // group commit: the answer (and the PUBACK, which the bus sends when this handler resolves)
        // waits for the fsync that covers this write, shared with the writes that came with it
        await this.#store.whenDurable();
        this.#metrics.request(action, 'ok');
      } catch (error) {
        this.#logger.error({ error, topic }, 'a twin write could not be made durable');
        this.#metrics.request(action, 'internal');
        const failure = new DeviceTwinError('INTERNAL', 'the twin could not store this request durably', undefined, { cause: error });
        outcome = { answer: errorResult(outcome.request.eventId, outcome.request.clientToken, failure), request: outcome.request, changed: undefined, wrote: false };
      }
    }
    // the answers need not hold up the PUBACK: they follow in the background, result first
    this.#answer(resultTopic, outcome);
  }

  /**
   * What a request topic asks and where its answer goes; undefined when it is not this twin's to answer.
   * Remembered per topic (a mapper repeats the same few): parsing and building the result topic ran for
   * every update. Bounded: a client naming ever new topics only restarts the memory.
   */
  #route(topic: string): RequestRoute | undefined {
    const known = this.#routes.get(topic);
    if (known !== undefined) return known;
    const parsed = parseRequestTopic(topic, this.#legacyNamespace);
    if (parsed === undefined) return undefined;
    // another node's membership on a shared (external) broker: its own edgecore answers
    if (parsed.kind === 'membership-get' && parsed.node !== this.#nodeName) return undefined;
    const route: RequestRoute =
      parsed.kind === 'membership-get'
        ? { parsed, action: 'membership_get', resultTopic: membershipTopic(this.#nodeName, 'get/result') }
        : { parsed: { ...parsed, id: deviceId(parsed.namespace, parsed.name) }, action: ACTIONS[parsed.action], resultTopic: deviceTopic(parsed.topicId, `${parsed.action}/result`) };
    if (this.#routes.size >= MAX_ROUTES) this.#routes.clear();
    this.#routes.set(topic, route);
    return route;
  }

  /** The result, then the document and delta; each built only if someone subscribes to it, no promise when no one does. */
  #answer(resultTopic: string, outcome: RequestOutcome): void {
    const sent = this.#publisher.publishBuilt(resultTopic, answerOf, outcome);
    const changed = outcome.changed;
    if (changed === undefined) return;
    if (sent === undefined) void this.#publisher.twinsChanged(changed.device, changed.changes);
    else void sent.then(() => this.#publisher.twinsChanged(changed.device, changed.changes));
  }


  /** Runs one device action against the store. @throws DeviceTwinError */
  #deviceRequest(action: DeviceAction, id: string, body: Record<string, unknown>, request: RequestBase): RequestOutcome {
    const { eventId, clientToken } = request;
    switch (action) {
      case 'twin/get':
        return { answer: result(eventId, clientToken, { twin: twinsMessage(this.#known(id).twins) }), request, changed: undefined, wrote: false };
      case 'state/get':
        return { answer: result(eventId, clientToken, { device: stateMessage(this.#known(id)) }), request, changed: undefined, wrote: false };
      case 'state/update': {
        const state = readStateUpdate(body);
        this.#known(id);
        const device = this.#store.setState(id, state);
        if (device === undefined) throw new DeviceTwinError('UNKNOWN_DEVICE', `device ${id} is not bound to node ${this.#nodeName}`, 'device');
        this.#reportLater(device);
        return { answer: result(eventId, clientToken, { device: stateMessage(device) }), request, changed: undefined, wrote: true };
      }
      default: {
        // one read of the device (the store's cached record) serves the checks and the write
        const updates = readTwinUpdate(body, this.#known(id));
        const { device, changes } = this.#store.report(id, updates);
        this.#reportLater(device);
        return { answer: undefined, request, changed: { device, changes }, wrote: true };
      }
    }
  }

  #known(id: string): DeviceRecord {
    const device = this.#store.device(id);
    if (device === undefined) throw new DeviceTwinError('UNKNOWN_DEVICE', `device ${id} is not bound to node ${this.#nodeName}`, 'device');
    return device;
  }

  #reportDevice(id: string): void {
    const device = this.#store.device(id);
    if (device) this.#report(device);
  }

  /**
   * The report of an MQTT request: queued with the others of this turn when it ends, latest per device
   * (each report is the device's whole reported state), in one call to the outbox. The turn's twin
   * transaction is committed first and its fsync ends later, so when a request is PUBACKed its report is
   * queued. A crash in between loses no state: the twin store has it, and `reportAll()` on reconnect
   * queues it again.
   */
  #reportLater(device: DeviceRecord): void {
    this.#turnReports.set(device.id, device);
    if (this.#turnReportsScheduled) return;
    this.#turnReportsScheduled = true;
    setImmediate(() => this.#queueTurnReports());
  }

  #queueTurnReports(): void {
    this.#turnReportsScheduled = false;
    if (this.#turnReports.size === 0) return;
    const devices = [...this.#turnReports.values()];
    this.#turnReports.clear();
    if (this.#reporter.reportMany === undefined || devices.length === 1) {
      for (const device of devices) this.#report(device);
      return;
    }
    try {
      this.#reporter.reportMany(devices.map(reportMessage));
      this.#metrics.reports.inc({ result: 'queued' }, devices.length);
    } catch (error) {
      this.#metrics.reports.inc({ result: 'failed' }, devices.length);
      this.#logThrottle.run('report', (suppressed) =>
        this.#logger.warn({ devices: devices.length, error: (error as Error).message, suppressed }, 'could not queue reported state for the cloud'),
      );
    }
  }

  /** Hands the device's reported state to the outbox. A refusal is logged; the edge keeps answering. */
  #report(device: DeviceRecord): boolean {
    try {
      this.#reporter.report(reportMessage(device));
      this.#metrics.reports.inc({ result: 'queued' });
      return true;
    } catch (error) {
      this.#metrics.reports.inc({ result: 'failed' });
      this.#logThrottle.run('report', (suppressed) =>
        this.#logger.warn({ device: device.id, error: (error as Error).message, suppressed }, 'could not queue reported state for the cloud'),
      );
      return false;
    }
  }
}
