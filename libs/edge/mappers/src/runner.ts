// DeviceRunner: one device's lifecycle. Connects its driver (with back-off), reads each property every collectCycle,
// reports every reportCycle as a KubeEdge twin update, publishes online/offline, and applies twin deltas to
// writable properties (write, read back, report).
import { EventEmitter } from 'node:events';
import { deviceTopic } from '@kedge/device-api';
import type { MqttClient } from 'mqtt';
import { toModelValue, parseDesired, toTwinString } from './convert';
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
  /** a value collected (read or pushed by the device), after conversion to the model type */
  collected: [string, RawValue];
}

/** builds the per-property visitors, validating each against the model and the driver */
export function buildVisitors(device: Device, model: DeviceModel, driver: ProtocolDriver): PropertyVisitor[] {
  const id = deviceId(device);
  return device.spec.properties.map((p, i) => {
    const property = model.spec.properties.find((m) => m.name === p.name);
    if (!property) {
      throw new MapperError('CONFIG_INVALID', `property ${p.name} is not in model ${model.metadata.name}`, { device: id, field: `spec.properties[${i}].name` });
    }
    if (!p.visitors || typeof p.visitors.configData !== 'object' || p.visitors.configData === null) {
      throw new MapperError('CONFIG_INVALID', 'visitors.configData is missing', { device: id, property: p.name, field: `spec.properties[${i}].visitors` });
    }
    const visitor: PropertyVisitor = { device: id, property, protocolName: p.visitors.protocolName, configData: p.visitors.configData };
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
  private stopLostListener: (() => void) | undefined;
  /** pushMethod kinds given but not delivered (dbMethod), per property */
  readonly unsupportedPush: { property: string; kind: string }[] = [];
  private readonly onMessage = (topic: string, payload: Buffer): void => {
    if (topic === deviceTopic(this.id, 'twin/update/delta')) void this.applyDelta(payload);
  };

  constructor(private readonly options: DeviceRunnerOptions) {
    super();
    this.id = deviceId(options.device);
    const visitors = buildVisitors(options.device, options.model, options.driver);
    this.slots = visitors.map((visitor, i) => {
      const p = options.device.spec.properties[i];
      const push = parsePushMethod(p?.pushMethod, this.id, visitor.property.name, i);
      for (const kind of push.unsupported) this.unsupportedPush.push({ property: visitor.property.name, kind });
      const pushes = push.targets.map((target) => new PushQueue(target, { metrics: options.metrics, ...options.push }));
      return { visitor, collectCycle: p?.collectCycle || 1000, reportCycle: p?.reportCycle || 1000, pushes };
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
    await this.options.mqtt.subscribeAsync(deviceTopic(this.id, 'twin/update/delta'), { qos: 1 });
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
      await this.options.mqtt.unsubscribeAsync(deviceTopic(this.id, 'twin/update/delta')).catch(() => undefined);
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

  private async publishState(state: DeviceState): Promise<void> {
    if (this.currentState === state) return;
    this.currentState = state;
    this.emit('state', state);
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
      if (slot.last === undefined) continue;
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
      const property = slot.visitor.property;
      try {
        if (property.accessMode !== 'ReadWrite') {
          throw new MapperError('NOT_WRITABLE', 'property is ReadOnly in the model', { device: this.id, property: name, field: 'accessMode' });
        }
        if (!this.connected) throw new MapperError('NOT_CONNECTED', 'device is offline', { device: this.id, property: name });
        const value = parseDesired(desired, property, this.id);
        await this.options.driver.write(slot.visitor, value);
        this.emit('written', name, value);
      } catch (error) {
        if (isConnectionError(error)) await this.lostConnection(error);
        else this.fail(error, name);
        continue;
      }
      if (await this.readSlot(slot)) await this.publishReported([slot]);
    }
  }
}
