// One node's outgoing queue: coalescing, dependency order, an in-flight window, resends and ACKs.
//   - Coalescing: at most one queued item per object; a newer version replaces the queued one in
//     place, a delete replaces a queued insert/update, and a delete of something the edge never
//     had is dropped at once.
//   - One message per object in flight: a newer version of an object whose message is unacked
//     waits behind it, so a resend can never overtake (and undo) a newer version.
//   - Order: queued items leave by class: the Node, then configmaps/secrets, then services/
//     endpoints, then pods (a pod's configmaps and secrets are sent before the pod), then pod
//     deletes, then the other deletes (a pod goes before what it references).
//   - Window: at most maxInFlight unacked messages; each ACK lets the next one go.
//   - Resend: an unacked message goes again (same msg_id) after resendIntervalMs, three times,
//     then with doubling intervals up to maxResendIntervalMs, while the session lives.
//   - Bounded: at most maxQueued items wait; enqueue() says false beyond that and the caller tries
//     again when onDrained fires.
import { Group, newMessage, type Message } from '@kedge/protocol';
import { cloudResourceOf, refOfKey, type SyncType } from './objects';
import type { KubeObject } from '@kedge/kube-core';

export const EDGECONTROLLER_SOURCE = 'edgecontroller';

export type DownOperation = 'insert' | 'update' | 'delete';

export interface QueueItem {
  key: string;
  kind: 'upsert' | 'delete';
  resourceVersion: string;
  object: KubeObject;
}

/** What a queue reports; the node is passed in so one hooks object serves every node's queue. */
export interface NodeQueueHooks {
  sent(operation: DownOperation, type: SyncType): void;
  resent(): void;
  acked(): void;
  sendFailed(node: string, error: unknown, message: Message): void;
  /** the queue went from full to below half full */
  drained(node: string): void;
}

export interface NodeQueueOptions {
  node: string;
  maxInFlight: number;
  maxQueued: number;
  resendIntervalMs: number;
  maxResendIntervalMs: number;
  send: (message: Message) => Promise<void>;
  now: () => number;
  hooks: NodeQueueHooks;
}

interface InFlight {
  message: Message;
  key: string;
  operation: DownOperation;
  resourceVersion: string;
  attempts: number;
  dueAt: number;
}

const CLASS_COUNT = 7;

function classOf(item: QueueItem): number {
  const { type } = refOfKey(item.key);
  if (item.kind === 'upsert') {
    if (type === 'node') return 0;
    if (type === 'configmap' || type === 'secret') return 1;
    if (type === 'service' || type === 'endpoints') return 2;
    return 3;
  }
  if (type === 'pod') return 4;
  return type === 'node' ? 6 : 5;
}

export class NodeQueue {
  /** what the edge confirmed it has, key → resourceVersion (seeded by its inventory) */
  readonly acked = new Map<string, string>();
  /** one map per priority class, made when first used: an idle node (most of 10,000) costs none */
  private readonly classes: (Map<string, QueueItem> | undefined)[] = new Array<Map<string, QueueItem> | undefined>(CLASS_COUNT).fill(undefined);
  private readonly classByKey = new Map<string, number>();
  private readonly blocked = new Map<string, QueueItem>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly inFlightByKey = new Map<string, string>();
  private full = false;
  private closed = false;
  private counters = { sent: 0, resent: 0, acked: 0 };

  constructor(private readonly options: NodeQueueOptions) {}

  get queued(): number {
    return this.classByKey.size + this.blocked.size;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** queued + in flight: everything not yet acknowledged */
  get depth(): number {
    return this.queued + this.inFlight.size;
  }

  stats(): { queued: number; inFlight: number; objects: number; sent: number; resent: number; acked: number } {
    return { queued: this.queued, inFlight: this.inFlight.size, objects: this.acked.size, ...this.counters };
  }

  /** Queues (or coalesces) an item; false when the queue is full and the item was not taken. */
  enqueue(item: QueueItem): boolean {
    if (this.closed) return false;
    const { key } = item;
    if (this.inFlightByKey.has(key)) {
      if (!this.blocked.has(key) && this.queued >= this.options.maxQueued) return this.refuse();
      this.blocked.set(key, item);
      return true;
    }
    const current = this.classByKey.get(key);
    if (item.kind === 'delete' && !this.acked.has(key)) {
      // the edge never had it (or its insert is still only queued): nothing to send
      if (current !== undefined) this.remove(key, current);
      return true;
    }
    if (current === undefined && this.queued >= this.options.maxQueued) return this.refuse();
    const target = classOf(item);
    if (current !== undefined && current !== target) this.remove(key, current);
    (this.classes[target] ??= new Map()).set(key, item);
    this.classByKey.set(key, target);
    this.pump();
    return true;
  }

  /** An ACK (response) for msgId; false when no message of this session has that id. */
  ack(msgId: string): boolean {
    const entry = this.inFlight.get(msgId);
    if (entry === undefined) return false;
    this.finish(msgId, entry);
    if (entry.operation === 'delete') this.acked.delete(entry.key);
    else this.acked.set(entry.key, entry.resourceVersion);
    this.counters.acked += 1;
    this.options.hooks.acked();
    this.unblock(entry.key);
    this.pump();
    return true;
  }

  /**
   * The edge answered `error` to msgId. A newer version waiting behind it replaces it; otherwise it
   * stays in flight and is resent on the usual schedule (the edge may only have failed to store it).
   */
  refused(msgId: string): boolean {
    const entry = this.inFlight.get(msgId);
    if (entry === undefined) return false;
    if (this.blocked.has(entry.key)) {
      this.finish(msgId, entry);
      this.unblock(entry.key);
      this.pump();
    }
    return true;
  }

  /** Resends what is due; called by the controller's ticker. */
  resendDue(): void {
    const now = this.options.now();
    for (const entry of this.inFlight.values()) {
      if (entry.dueAt > now) continue;
      entry.attempts += 1;
      entry.dueAt = now + this.resendDelay(entry.attempts);
      this.counters.resent += 1;
      this.options.hooks.resent();
      this.transmit(entry.message);
    }
  }

  close(): void {
    this.closed = true;
    this.classes.fill(undefined);
    this.classByKey.clear();
    this.blocked.clear();
    this.inFlight.clear();
    this.inFlightByKey.clear();
  }

  private refuse(): false {
    this.full = true;
    return false;
  }

  private remove(key: string, index: number): void {
    this.classes[index]?.delete(key);
    this.classByKey.delete(key);
  }

  private finish(msgId: string, entry: InFlight): void {
    this.inFlight.delete(msgId);
    if (this.inFlightByKey.get(entry.key) === msgId) this.inFlightByKey.delete(entry.key);
  }

  private unblock(key: string): void {
    const waiting = this.blocked.get(key);
    if (waiting === undefined) return;
    this.blocked.delete(key);
    this.enqueue(waiting);
  }

  private next(): QueueItem | undefined {
    for (const items of this.classes) {
      const first = items?.values().next();
      if (first !== undefined && !first.done) return first.value;
    }
    return undefined;
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.options.maxInFlight) {
      const item = this.next();
      if (item === undefined) break;
      const index = this.classByKey.get(item.key);
      if (index !== undefined) this.remove(item.key, index);
      const operation: DownOperation = item.kind === 'delete' ? 'delete' : this.acked.has(item.key) ? 'update' : 'insert';
      if (operation === 'update' && this.acked.get(item.key) === item.resourceVersion) continue;
      const message = newMessage({
        source: EDGECONTROLLER_SOURCE,
        group: Group.Resource,
        operation,
        resource: cloudResourceOf(this.options.node, item.key),
        content: item.object,
        resourceVersion: item.resourceVersion,
      });
      this.inFlight.set(message.header.msg_id, {
        message,
        key: item.key,
        operation,
        resourceVersion: item.resourceVersion,
        attempts: 0,
        dueAt: this.options.now() + this.resendDelay(0),
      });
      this.inFlightByKey.set(item.key, message.header.msg_id);
      this.counters.sent += 1;
      this.options.hooks.sent(operation, refOfKey(item.key).type);
      this.transmit(message);
    }
    if (this.full && this.queued <= this.options.maxQueued / 2) {
      this.full = false;
      this.options.hooks.drained(this.options.node);
    }
  }

  private transmit(message: Message): void {
    this.options.send(message).catch((error: unknown) => this.options.hooks.sendFailed(this.options.node, error, message));
  }

  /** wait before resend number attempts+1 */
  private resendDelay(attempts: number): number {
    const { resendIntervalMs, maxResendIntervalMs } = this.options;
    if (attempts < 3) return resendIntervalMs;
    return Math.min(maxResendIntervalMs, resendIntervalMs * 2 ** (attempts - 2));
  }
}
