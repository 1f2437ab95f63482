// Cloud → edge sync for every connected node: a session per connection, resync by inventory, a
// diff of desired against what the edge has (or will have once its queue is acked), and the node
// queue that delivers the difference. See README.md "Sync rules" for the contract.
import { errorMessage } from '@kedge/kube-client';
import { Operation, type Message } from '@kedge/protocol';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import type { DesiredState } from './desired-state';
import type { InventoryItem } from './inventory';
import type { EdgeControllerMetrics } from './metrics';
import { NodeQueue, type NodeQueueHooks } from './node-queue';
import { objectKey, parseResourceVersion, refOfKey, stubObject } from './objects';
import type { KubeObject } from '@kedge/kube-core';

export interface DownstreamOptions {
  /** unacked messages per node (default 32) */
  maxInFlight: number;
  /** queued (not yet sent) objects per node (default 50 000) */
  maxQueued: number;
  /** first resends of an unacked message (default 5 000 ms) */
  resendIntervalMs: number;
  /** resend backoff ceiling (default 60 000 ms) */
  maxResendIntervalMs: number;
}

export interface DownstreamHub {
  sendToNode(message: Message): Promise<void>;
  isConnected(nodeName: string): boolean;
}

interface ViewEntry {
  resourceVersion: bigint;
  text: string;
  /** the object as last sent; undefined for what only the inventory told about */
  object: KubeObject | undefined;
}

interface NodeSync {
  node: string;
  /** nothing is sent before the edge told what it has */
  phase: 'awaiting-inventory' | 'synced';
  /** what the edge has once everything queued is acked: key → version */
  view: Map<string, ViewEntry>;
  queue: NodeQueue;
}

export interface NodeSyncStats {
  node: string;
  phase: NodeSync['phase'];
  objects: number;
  queued: number;
  inFlight: number;
  sent: number;
  resent: number;
  acked: number;
}

export class Downstream {
  private readonly sessions = new Map<string, NodeSync>();
  private readonly dirty = new Set<string>();
  private readonly throttle = new LogThrottle();
  private flushScheduled = false;
  private ready = false;
  private closed = false;
  private readonly ticker: NodeJS.Timeout;
  /** shared by every node's queue: per-node closures cost each of 10,000 idle nodes a few KB */
  private readonly queueHooks: NodeQueueHooks = {
    sent: (operation, type) => this.metrics.sent.inc({ operation, type }),
    resent: () => this.metrics.resent.inc(),
    acked: () => this.metrics.acked.inc(),
    sendFailed: (node, error, message) =>
      this.throttle.run(`send:${node}`, (suppressed) =>
        this.logger.debug({ node, resource: message.route.resource, error: errorMessage(error), suppressed }, 'down message not sent; it will be resent'),
      ),
    drained: (node) => this.markDirty([node]),
  };
  private readonly sendDown = (message: Message): Promise<void> => this.hub.sendToNode(message);

  constructor(
    private readonly hub: DownstreamHub,
    private readonly desired: DesiredState,
    private readonly metrics: EdgeControllerMetrics,
    private readonly logger: Logger,
    private readonly options: DownstreamOptions,
    private readonly now: () => number,
  ) {
    metrics.depthSource = () => [...this.sessions.values()].map((s): [string, number] => [s.node, s.queue.depth]);
    const tickMs = Math.max(20, Math.min(1_000, Math.floor(options.resendIntervalMs / 4)));
    this.ticker = setInterval(() => {
      for (const session of this.sessions.values()) session.queue.resendDue();
    }, tickMs);
    this.ticker.unref();
  }

  /** The informers have listed: inventories received so far are diffed now. */
  setReady(): void {
    this.ready = true;
    this.markDirty([...this.sessions.values()].filter((s) => s.phase === 'synced').map((s) => s.node));
  }

  connected(node: string): void {
    this.open(node);
  }

  disconnected(node: string): void {
    const session = this.sessions.get(node);
    if (session === undefined) return;
    session.queue.close();
    this.sessions.delete(node);
    this.desired.forget(node);
    this.logger.info({ node, stats: session.queue.stats() }, 'edge session ended; its queue is dropped until it reconnects');
  }

  /**
   * The edge's inventory after a (re)connect: it becomes the baseline of what the edge has, and the
   * difference to the desired set is queued. A second inventory in one session restarts from it.
   */
  inventory(node: string, items: InventoryItem[]): void {
    if (!this.hub.isConnected(node)) return;
    const session = this.open(node);
    for (const item of items) {
      const key = objectKey(item.type, item.namespace, item.name);
      session.view.set(key, { resourceVersion: parseResourceVersion(item.resourceVersion), text: item.resourceVersion, object: undefined });
      session.queue.acked.set(key, item.resourceVersion);
    }
    session.phase = 'synced';
    this.logger.info({ node, items: items.length, waitingForInformers: !this.ready }, 'edge inventory received');
    this.markDirty([node]);
  }

  /** An upstream response/error whose parent is one of our down messages; false if it is not. */
  answer(node: string, message: Message): boolean {
    const parent = message.header.parent_msg_id;
    const session = this.sessions.get(node);
    if (parent === undefined || session === undefined) return false;
    if (message.route.operation === Operation.Error) {
      const known = session.queue.refused(parent);
      if (known) {
        this.throttle.run(`refused:${node}`, (suppressed) =>
          this.logger.warn({ node, resource: message.route.resource, reason: message.content, suppressed }, 'edge refused a down message'),
        );
      }
      return known;
    }
    return session.queue.ack(parent);
  }

  markDirty(nodes: Iterable<string>): void {
    for (const node of nodes) if (this.sessions.get(node)?.phase === 'synced') this.dirty.add(node);
    if (this.dirty.size === 0 || this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  stats(): NodeSyncStats[] {
    return [...this.sessions.values()].map((s) => {
      const q = s.queue.stats();
      return { node: s.node, phase: s.phase, objects: s.view.size, queued: q.queued, inFlight: q.inFlight, sent: q.sent, resent: q.resent, acked: q.acked };
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.ticker);
    for (const session of this.sessions.values()) session.queue.close();
    this.sessions.clear();
    this.metrics.depthSource = undefined;
  }

  private open(node: string): NodeSync {
    const previous = this.sessions.get(node);
    previous?.queue.close();
    const session: NodeSync = {
      node,
      phase: 'awaiting-inventory',
      view: new Map(),
      queue: new NodeQueue({ node, ...this.options, send: this.sendDown, now: this.now, hooks: this.queueHooks }),
    };
    this.sessions.set(node, session);
    return session;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.ready || this.closed) return;
    const nodes = [...this.dirty];
    this.dirty.clear();
    for (const node of nodes) {
      const session = this.sessions.get(node);
      if (session?.phase === 'synced') this.reconcile(session);
    }
  }

  /** Queues exactly the difference between the node's desired set and its view. */
  private reconcile(session: NodeSync): void {
    const desired = this.desired.compute(session.node);
    const { view, queue } = session;
    for (const [key, want] of desired) {
      const have = view.get(key);
      if (have !== undefined && have.resourceVersion >= want.resourceVersion) {
        if (have.object === undefined && have.resourceVersion === want.resourceVersion) have.object = want.object;
        continue;
      }
      const text = want.object.metadata?.resourceVersion ?? '0';
      if (queue.enqueue({ key, kind: 'upsert', resourceVersion: text, object: want.object })) {
        view.set(key, { resourceVersion: want.resourceVersion, text, object: want.object });
      }
    }
    for (const [key, have] of view) {
      if (desired.has(key)) continue;
      const object = have.object ?? stubObject(refOfKey(key), have.text);
      if (queue.enqueue({ key, kind: 'delete', resourceVersion: have.text, object })) view.delete(key);
    }
  }
}
