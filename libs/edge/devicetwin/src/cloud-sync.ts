// Cloud → edge: applies the DeviceController's down messages (group `twin`) to the store, ACKs them
// once committed, and tells mappers what changed (on MQTT, and in-process through `devicesChanged`). The cloud owns desired values: whatever it sends
// replaces the edge's desired values. Reported values are never taken from the cloud.
import { isRecord } from '@kedge/kube-core';
import { Operation, newErrorResponse, newResponse, type Message } from '@kedge/protocol';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { parseDownMessage, type DownChange } from './down-message';
import { BadMessageError } from './errors';
import type { DeviceTwinMetrics } from './metrics';
import { deviceId } from './model';
import { base, deviceMessage, updatedMessage } from './payloads';
import type { TwinPublisher } from './publisher';
import type { DeviceChange, TwinStore } from './store/twin-store';

export interface CloudSyncOptions {
  store: TwinStore;
  nodeName: string;
  publisher: TwinPublisher;
  metrics: DeviceTwinMetrics;
  logger: Logger;
  /** sends ACKs and error answers to the cloud (EdgeHub's send); optional in tests */
  answer: ((message: Message) => void | Promise<void>) | undefined;
  /** queues the device's reported state (after a model change dropped a value the model no longer allows) */
  reportDevice: (id: string) => void;
  /** told after each down message the store accepted */
  devicesChanged: (event: DevicesChangedEvent) => void;
}

/** What one accepted down message did to the devices bound to this node. */
export interface DevicesChangedEvent {
  /** the devices it created, updated or removed (none for a resend) */
  changes: DeviceChange[];
  /**
   * The Device objects it carried, by id, exactly as the cloud sent them, for the devices whose stored
   * version they are: they hold what the twin does not keep, such as the protocol and the property
   * visitors a mapper needs. A membership list carries every member, a device message one device.
   */
  sources: ReadonlyMap<string, Record<string, unknown>>;
}

export class CloudSync {
  readonly #options: CloudSyncOptions;
  readonly #logThrottle = new LogThrottle();

  constructor(options: CloudSyncOptions) {
    this.#options = options;
  }

  async onMessage(message: Message): Promise<void> {
    const { operation } = message.route;
    if (operation === Operation.Response || operation === Operation.Error || operation === Operation.Keepalive) return;
    const { metrics, logger, nodeName } = this.#options;
    let change: DownChange;
    try {
      change = parseDownMessage(message, nodeName);
    } catch (error) {
      if (!(error instanceof BadMessageError)) throw error;
      metrics.cloudMessages.inc({ kind: 'unknown', result: 'refused' });
      this.#logThrottle.run(`bad:${error.field ?? ''}`, (suppressed) =>
        logger.warn({ resource: String(message.route?.resource).slice(0, 200), error: error.message, suppressed }, 'refused a bad twin message from the cloud'),
      );
      await this.#answer(newErrorResponse(message, error.message, 'twin'));
      return;
    }
    let changes: DeviceChange[];
    try {
      changes = this.#apply(change);
      // the ACK says the change is stored: it waits for the group commit fsync that covers it
      await this.#options.store.whenDurable();
    } catch (error) {
      // not committed, so not ACKed: the cloud resends it
      logger.error({ error, resource: message.route.resource }, 'cannot store a twin message from the cloud durably; not acknowledging it');
      return;
    }
    await this.#answer(newResponse(message, 'OK', 'twin'));
    await this.#announce(changes);
    const sources = this.#sources(change, message.content);
    if (changes.length > 0 || sources.size > 0) this.#options.devicesChanged({ changes, sources });
  }

  /** The raw Device objects of the message that match what the store now holds (not the stale ones). */
  #sources(change: DownChange, content: unknown): Map<string, Record<string, unknown>> {
    const sources = new Map<string, Record<string, unknown>>();
    if (change.kind === 'delete' || !isRecord(content)) return sources;
    const carried: unknown[] = change.kind === 'membership' ? (content['devices'] as unknown[]) : [content];
    for (const raw of carried) {
      // parseDownMessage checked these fields
      if (!isRecord(raw)) continue;
      const id = deviceId(String(raw['namespace']), String(raw['name']));
      const stored = this.#options.store.device(id);
      if (stored !== undefined && BigInt(stored.resourceVersion) === BigInt(String(raw['resourceVersion']))) sources.set(id, raw);
    }
    return sources;
  }

  #apply(change: DownChange): DeviceChange[] {
    const { store, metrics } = this.#options;
    if (change.kind === 'membership') {
      const result = store.applyMembership(change.resourceVersion, change.devices);
      metrics.cloudMessages.inc({ kind: 'membership', result: result.applied ? 'applied' : 'stale' });
      return result.changes;
    }
    const applied = change.kind === 'device' ? store.applyDevice(change.spec) : store.removeDevice(change.namespace, change.name, change.resourceVersion);
    const changed = applied.reason === 'created' || applied.reason === 'updated' || applied.reason === 'deleted';
    metrics.cloudMessages.inc({ kind: change.kind, result: changed ? 'applied' : applied.reason });
    return changed ? [applied] : [];
  }

  /** Tells mappers: membership/updated for added and removed devices, device updated, then documents and deltas. */
  async #announce(changes: DeviceChange[]): Promise<void> {
    const { publisher } = this.#options;
    const added = changes.filter((change) => change.reason === 'created' && change.after);
    const removed = changes.filter((change) => change.reason === 'deleted' && change.before);
    if (added.length > 0 || removed.length > 0) {
      await publisher.membershipUpdated({
        ...base(),
        added_devices: added.map((change) => deviceMessage(change.after as NonNullable<typeof change.after>)),
        removed_devices: removed.map((change) => deviceMessage(change.before as NonNullable<typeof change.before>)),
      });
    }
    for (const change of changes) {
      const device = change.after;
      if (device === undefined) continue;
      if (change.reason === 'updated') {
        await publisher.broadcast(device, 'updated', updatedMessage, device);
        if (change.twinChanges.some((twin) => twin.before?.reported !== undefined && twin.after?.reported === undefined)) this.#options.reportDevice(device.id);
      }
      await publisher.twinsChanged(device, change.twinChanges);
    }
  }

  async #answer(reply: Message): Promise<void> {
    if (!this.#options.answer) return;
    try {
      await this.#options.answer(reply);
    } catch (error) {
      // offline: the cloud resends what it did not see acknowledged
      this.#logThrottle.run('answer', (suppressed) =>
        this.#options.logger.debug({ error: (error as Error).message, suppressed }, 'could not answer the cloud; it will resend'),
      );
    }
  }
}
