// DeviceRunner: one device's lifecycle. Connects its driver (with back-off), reads each property every collectCycle,
// reports every reportCycle as a KubeEdge twin update, publishes online/offline, applies twin deltas to
// writable properties (write, read back, report) when the desired value changed, and runs device methods.
import { EventEmitter } from 'node:events';
import { deviceTopic, methodTopic } from '@kedge/device-api';
import type { MqttClient } from 'mqtt';
import { toModelValue, parseDesired, toTwinString } from './convert';
import { cycleMs } from './cycles';
import type { ProtocolDriver, RawValue } from './driver';
import { MapperError, isConnectionError } from './errors';
import { deviceId, type Device, type DeviceModel, type PropertyVisitor } from './model';
import type { MapperMetrics } from './metrics';
import { parsePushMethod } from './push/push-method';
import { PushQueue, type PushQueueOptions } from './push/pusher';
import { desiredFromDelta, stateUpdate, twinUpdate, type DeviceState, type TwinDeltaMessage } from './twin';

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

export interface DeviceRunnerOptions {
  device: Device;
  model: DeviceModel;
  driver: ProtocolDriver;
  mqtt: MqttClient;
  backoff?: BackoffOptions;
  metrics?: MapperMetrics;
  /** bounds and retry timing of the pushMethod queues */
  push?: PushQueueOptions;
}

interface PropertySlot {
  visitor: PropertyVisitor;
  collectCycle: number;
  reportCycle: number;
  /** false: read but never published on twin/update */
  reportToCloud: boolean;
  /** write the desired value on every delta, not only when it changes */
  reassert: boolean;
  /** the desired value last written to the device (KubeEdge writes a desired value when it changes) */
  lastDesired?: string;
  last?: RawValue;
  reportedAt?: number;
  readAt?: number;
  /** the property's pushMethod targets (http, mqtt) */
  pushes: PushQueue[];
}

export interface DeviceRunnerEvents {
  state: [DeviceState];
  reported: [Record<string, string>];
  written: [string, RawValue];
  fault: [MapperError];
  method: [MethodResult];
  /** a value collected (read or pushed by the device), after conversion to the model type */
  collected: [string, RawValue];
}

/** The answer to a method invocation, published on `.../method/<name>/result`. */
export interface MethodResult {
  event_id: string;
  timestamp: number;
  method: string;
  /** 200 all written, 400 bad request, 404 no such method, 503 device offline, 500 a write failed */
  code: number;
  reason?: string;
  /** per property: the value read back after the write, or the error */
  results: Record<string, { value?: string; error?: string; code?: string }>;
}

/** builds the per-property visitors, validating each against the model and the driver */
export function buildVisitors(device: Device, model: DeviceModel, driver: ProtocolDriver): PropertyVisitor[] {
  const id = deviceId(device);
  return device.spec.properties.map((p, i) => {
    const property = model.spec.properties.find((m) => m.name === p.name);
    if (!property) {
      throw new MapperError('CONFIG_INVALID', `property ${p.name} is not in model ${model.metadata.name}`, { device: id, field: `spec.properties[${i}].name` });
    }
    // KubeEdge 1.22: the Device's visitors, else the model property's
    const visitors = p.visitors ?? property.visitors;
    if (!visitors || typeof visitors.configData !== 'object' || visitors.configData === null) {
      throw new MapperError('CONFIG_INVALID', 'visitors.configData is missing (on the Device and the model)', { device: id, property: p.name, field: `spec.properties[${i}].visitors` });
    }
    const visitor: PropertyVisitor = { device: id, property, protocolName: visitors.protocolName ?? device.spec.protocol.protocolName, configData: visitors.configData };
    try {
      driver.validate(visitor);
    } catch (error) {
      throw error instanceof MapperError ? error.withDevice(id) : error;
    }
    return visitor;
  });
}

export class DeviceRunner extends EventEmitter<DeviceRunnerEvents> {
  readonly id: string;
  private readonly slots: PropertySlot[];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribes: (() => Promise<void>)[] = [];
  private currentState: DeviceState | undefined;
  private running = false;
  private connected = false;
  private attempt = 0;
  private readonly methodPrefix: string;
  private stopLostListener: (() => void) | undefined;
  /** pushMethod kinds given but not delivered (dbMethod), per property */
  readonly unsupportedPush: { property: string; kind: string }[] = [];
  private readonly onMessage = (topic: string, payload: Buffer): void => {
    if (topic === deviceTopic(this.id, 'twin/update/delta')) void this.applyDelta(payload);
    else if (topic.startsWith(this.methodPrefix) && !topic.endsWith('/result')) void this.invokeMethod(topic.slice(this.methodPrefix.length), payload);
  };

  constructor(private readonly options: DeviceRunnerOptions) {
    super();
    this.id = deviceId(options.device);
    this.methodPrefix = methodTopic(this.id, '');
    const visitors = buildVisitors(options.device, options.model, options.driver);
    // KubeEdge's nanoseconds or kedge's milliseconds (see cycles.ts); 0 or absent means 1 s
    this.slots = visitors.map((visitor, i) => {
      const p = options.device.spec.properties[i];
      const push = parsePushMethod(p?.pushMethod, this.id, visitor.property.name, i);
      for (const kind of push.unsupported) this.unsupportedPush.push({ property: visitor.property.name, kind });
      const pushes = push.targets.map((target) => new PushQueue(target, { metrics: options.metrics, ...options.push }));
      return {
        visitor,
        collectCycle: cycleMs(p?.collectCycle),
        reportCycle: cycleMs(p?.reportCycle),
        reportToCloud: p?.reportToCloud !== false,
        reassert: p?.reassertDesired === true,
        pushes,
      };
    });
  }

  get state(): DeviceState | undefined {
    return this.currentState;
  }

  /** the last value read per property (model-typed) */
  get values(): Record<string, RawValue | undefined> {
    return Object.fromEntries(this.slots.map((s) => [s.visitor.property.name, s.last]));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.reportUnsupported();
    this.stopLostListener = this.options.driver.onConnectionLost?.((error) => void this.lostConnection(error));
    this.options.mqtt.on('message', this.onMessage);
    await this.options.mqtt.subscribeAsync([deviceTopic(this.id, 'twin/update/delta'), methodTopic(this.id, '+')], { qos: 1 });
    void this.connectLoop();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.options.mqtt.removeListener('message', this.onMessage);
    this.stopLostListener?.();
    for (const slot of this.slots) for (const queue of slot.pushes) await queue.close();
    await this.dropSubscriptions();
    if (!this.options.mqtt.disconnected) {
      await this.options.mqtt.unsubscribeAsync([deviceTopic(this.id, 'twin/update/delta'), methodTopic(this.id, '+')]).catch(() => undefined);
    }
    await this.options.driver.close().catch(() => undefined);
  }

  private later(ms: number, fn: () => void | Promise<void>): void {
    if (!this.running) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.running) void fn();
    }, ms);
    this.timers.add(t);
  }

  private fail(error: unknown, property?: string): MapperError {
    const e = error instanceof MapperError ? error.withDevice(this.id) : new MapperError('IO_FAILED', String(error), { device: this.id, property, cause: error });
    this.options.metrics?.faults.inc({ code: e.code });
    this.emit('fault', e);
    return e;
  }

  private async publishState(state: DeviceState, force = false): Promise<void> {
    if (this.currentState === state && !force) return;
    this.currentState = state;
    if (!force) this.emit('state', state);
    if (this.options.device.spec.stateReport?.reportToCloud === false) return;
    await this.options.mqtt.publishAsync(deviceTopic(this.id, 'state/update'), JSON.stringify(stateUpdate(state)), { qos: 1 }).catch((e: unknown) => this.fail(e));
  }

  private async connectLoop(): Promise<void> {
    if (!this.running || this.connected) return;
    try {
      await this.options.driver.connect();
    } catch (error) {
      this.fail(error);
      await this.publishState('offline');
      const { initialMs = 200, maxMs = 10_000 } = this.options.backoff ?? {};
      const delay = Math.min(maxMs, initialMs * 2 ** this.attempt);
      this.attempt += 1;
      this.later(delay, () => this.connectLoop());
      return;
    }
    if (!this.running) return;
    this.attempt = 0;
    this.connected = true;
    await this.publishState('online');
    const stateCycle = this.options.device.spec.stateReport?.reportCycle;
    if (stateCycle !== undefined && stateCycle > 0) {
      const ms = cycleMs(stateCycle);
      this.later(ms, () => this.reportState(ms));
    }
    await this.applyDesired();
    for (const slot of this.slots) {
      const { driver } = this.options;
      const pushed = driver.subscribe !== undefined && (driver.subscribes?.(slot.visitor) ?? slot.visitor.configData.notify === true);
      if (pushed && driver.subscribe) {
        const off = await driver
          .subscribe(slot.visitor, (raw) => this.accept(slot, raw), { intervalMs: slot.collectCycle, onError: (e) => this.fail(e, slot.visitor.property.name) })
          .catch((e: unknown) => {
            this.fail(e, slot.visitor.property.name);
            return undefined;
          });
        if (off) this.unsubscribes.push(off);
        // a device that cannot push this property (e.g. an OPC UA server without subscriptions) is polled instead
        else if (this.connected) void this.collect(slot);
      } else {
        void this.collect(slot);
      }
      this.later(slot.reportCycle, () => this.report(slot));
    }
  }

  /** `spec.stateReport.reportCycle`: the state again every cycle while connected */
  private async reportState(cycle: number): Promise<void> {
    if (!this.connected) return;
    await this.publishState('online', true);
    this.later(cycle, () => this.reportState(cycle));
  }

  /** the Device spec's `desired` values are written once, on the first connection (as KubeEdge mappers do) */
  private desiredApplied = false;
  private async applyDesired(): Promise<void> {
    if (this.desiredApplied) return;
    this.desiredApplied = true;
    for (const [i, slot] of this.slots.entries()) {
      const desired = this.options.device.spec.properties[i]?.desired?.value;
      if (desired === undefined || slot.visitor.property.accessMode !== 'ReadWrite') continue;
      try {
        await this.options.driver.write(slot.visitor, parseDesired(String(desired), slot.visitor.property, this.id));
        slot.lastDesired = String(desired);
      } catch (error) {
        this.fail(error, slot.visitor.property.name);
      }
    }
  }

  private accept(slot: PropertySlot, raw: RawValue): void {
    try {
      slot.last = toModelValue(raw, slot.visitor.property, this.id);
      slot.readAt = Date.now();
      this.emit('collected', slot.visitor.property.name, slot.last);
      if (slot.pushes.length > 0) {
        const { property } = slot.visitor;
        const { namespace = 'default', name } = this.options.device.metadata;
        const message = { namespace, deviceName: name, propertyName: property.name, value: toTwinString(slot.last, property), type: property.type, timestamp: slot.readAt };
        for (const queue of slot.pushes) queue.push(message);
      }
    } catch (error) {
      this.fail(error, slot.visitor.property.name);
    }
  }

  /**
   * The one place that reports pushMethod kinds kedge accepts but does not deliver (dbMethod): a fault naming
   * device, property and field, and a metric. DeviceStatus conditions can hook in here.
   */
  private reportUnsupported(): void {
    for (const { property, kind } of this.unsupportedPush) {
      const index = this.options.device.spec.properties.findIndex((p) => p.name === property);
      this.options.metrics?.pushUnsupported.inc({ kind: kind.replace(/ \(unknown\)$/, '') });
      this.fail(new MapperError('UNSUPPORTED_PUSH_METHOD', `pushMethod.${kind} is not supported by kedge; values are not written there`, { device: this.id, property, field: `spec.properties[${index}].pushMethod.${kind.split(' ')[0] ?? kind}` }));
    }
  }

  private async dropSubscriptions(): Promise<void> {
    for (const off of this.unsubscribes.splice(0)) await off().catch(() => undefined);
  }

  private async lostConnection(error: unknown): Promise<void> {
    this.fail(error);
    if (!this.connected) return;
    this.connected = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.dropSubscriptions();
    await this.options.driver.close().catch(() => undefined);
    await this.publishState('offline');
    this.later(this.options.backoff?.initialMs ?? 200, () => this.connectLoop());
  }

  private async readSlot(slot: PropertySlot): Promise<boolean> {
    try {
      const raw = await this.options.driver.read(slot.visitor);
      this.accept(slot, raw);
      return true;
    } catch (error) {
      if (isConnectionError(error)) await this.lostConnection(error);
      else this.fail(error, slot.visitor.property.name);
      return false;
    }
  }

  private async collect(slot: PropertySlot): Promise<void> {
    if (!this.connected) return;
    await this.readSlot(slot);
    if (this.connected) this.later(slot.collectCycle, () => this.collect(slot));
  }

  private async publishReported(slots: PropertySlot[]): Promise<void> {
    const reported: Record<string, { value: string; type: string }> = {};
    for (const slot of slots) {
      if (slot.last === undefined || !slot.reportToCloud) continue;
      reported[slot.visitor.property.name] = { value: toTwinString(slot.last, slot.visitor.property), type: slot.visitor.property.type };
      slot.reportedAt = Date.now();
    }
    if (Object.keys(reported).length === 0) return;
    await this.options.mqtt.publishAsync(deviceTopic(this.id, 'twin/update'), JSON.stringify(twinUpdate(reported)), { qos: 1 }).catch((e: unknown) => this.fail(e));
    this.emit('reported', Object.fromEntries(Object.entries(reported).map(([k, v]) => [k, v.value])));
  }

  private async report(slot: PropertySlot): Promise<void> {
    if (!this.connected) return;
    await this.publishReported([slot]);
    this.later(slot.reportCycle, () => this.report(slot));
  }

  private async applyDelta(payload: Buffer): Promise<void> {
    let message: TwinDeltaMessage;
    try {
      message = JSON.parse(payload.toString('utf8')) as TwinDeltaMessage;
    } catch (error) {
      this.fail(new MapperError('VALUE_INVALID', 'twin delta is not JSON', { device: this.id, cause: error }));
      return;
    }
    for (const [name, desired] of Object.entries(desiredFromDelta(message))) {
      const slot = this.slots.find((s) => s.visitor.property.name === name);
      if (!slot) continue;
      // KubeEdge writes a desired value when it changes; the twin sends a delta on every report that
      // differs, which would overwrite a change made at the device each cycle unless re-assert is chosen
      if (!slot.reassert && slot.lastDesired === desired) continue;
      const property = slot.visitor.property;
      try {
        if (property.accessMode !== 'ReadWrite') {
          throw new MapperError('NOT_WRITABLE', 'property is ReadOnly in the model', { device: this.id, property: name, field: 'accessMode' });
        }
        if (!this.connected) throw new MapperError('NOT_CONNECTED', 'device is offline', { device: this.id, property: name });
        const value = parseDesired(desired, property, this.id);
        await this.options.driver.write(slot.visitor, value);
        slot.lastDesired = desired;
        this.emit('written', name, value);
      } catch (error) {
        if (isConnectionError(error)) await this.lostConnection(error);
        else this.fail(error, name);
        continue;
      }
      if (await this.readSlot(slot)) await this.publishReported([slot]);
    }
  }

  /**
   * A device method: `{event_id?, values: {<prop>: "<value>"}}` on `.../method/<name>`. Every value must
   * belong to the method's propertyNames and be valid for its model property before anything is
   * written; then each is written, read back and reported. The result names each property.
   */
  private async invokeMethod(name: string, payload: Buffer): Promise<void> {
    const result: MethodResult = { event_id: '', timestamp: Date.now(), method: name, code: 200, results: {} };
    const finish = async (code: number, reason?: string): Promise<void> => {
      result.code = code;
      if (reason !== undefined) {
        result.reason = reason;
        this.fail(new MapperError(code === 503 ? 'NOT_CONNECTED' : 'VALUE_INVALID', `method ${name}: ${reason}`, { device: this.id }));
      }
      this.emit('method', result);
      await this.options.mqtt.publishAsync(deviceTopic(this.id, `method/${name}/result`), JSON.stringify(result), { qos: 1 }).catch((e: unknown) => this.fail(e));
    };
    let request: unknown;
    try {
      request = JSON.parse(payload.toString('utf8'));
    } catch {
      await finish(400, 'payload is not JSON');
      return;
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return finish(400, 'payload is not an object');
    const { event_id: eventId, values } = request as { event_id?: unknown; values?: unknown };
    if (typeof eventId === 'string') result.event_id = eventId.slice(0, 128);
    const method = this.options.device.spec.methods?.find((m) => m.name === name);
    if (method === undefined) return finish(404, `device has no method ${JSON.stringify(name.slice(0, 128))}`);
    if (typeof values !== 'object' || values === null || Array.isArray(values) || Object.keys(values).length === 0) return finish(400, 'values: expected an object of property values');
    const planned: { slot: PropertySlot; value: RawValue; text: string }[] = [];
    for (const [prop, text] of Object.entries(values as Record<string, unknown>)) {
      const slot = this.slots.find((s) => s.visitor.property.name === prop);
      if (!(method.propertyNames ?? []).includes(prop) || slot === undefined) return finish(400, `values.${prop}: not a property of method ${name}`);
      if (slot.visitor.property.accessMode !== 'ReadWrite') return finish(400, `values.${prop}: property is ReadOnly in the model`);
      try {
        planned.push({ slot, value: parseDesired(String(text), slot.visitor.property, this.id), text: String(text) });
      } catch (error) {
        return finish(400, `values.${prop}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (!this.connected) return finish(503, 'device is offline');
    let failed = false;
    for (const { slot, value } of planned) {
      const prop = slot.visitor.property.name;
      try {
        await this.options.driver.write(slot.visitor, value);
        this.emit('written', prop, value);
      } catch (error) {
        failed = true;
        const e = this.fail(error, prop);
        result.results[prop] = { error: e.message, code: e.code };
        if (isConnectionError(error)) await this.lostConnection(error);
        continue;
      }
      if (await this.readSlot(slot)) {
        result.results[prop] = slot.last === undefined ? {} : { value: toTwinString(slot.last, slot.visitor.property) };
        await this.publishReported([slot]);
      } else result.results[prop] = {};
    }
    await finish(failed ? 500 : 200);
  }
}
