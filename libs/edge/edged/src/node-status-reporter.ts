// Keeps this gateway's Node alive in the cloud: registers it, renews its Lease and refreshes its
// status. Everything goes through the MetaManager outbox, so while the link is down the latest
// report waits on disk (coalesced per resource) instead of piling up.
import { Group, Operation, newMessage, type Message } from '@kedge/protocol';
import type { Logger } from '@kedge/telemetry';
import { hostNode, hostNodeStatus, type HostNodeOptions } from './host-node';

/** MetaManager, or anything that queues an upstream report durably. */
export interface StatusReporter {
  report(message: Message): number;
}

export interface NodeStatusReporterOptions extends HostNodeOptions {
  reporter: StatusReporter;
  logger: Logger;
  /** Lease renewal period (Kubernetes' kubelet: 10 s) */
  leaseRenewSeconds?: number;
  leaseDurationSeconds?: number;
  /** full status refresh period */
  statusUpdateSeconds?: number;
  /**
   * The Node as this edge last stored it from the cloud (MetaStore), read once at start: while its
   * Ready condition is already True, its lastTransitionTime is kept, as kubelet keeps it, instead of
   * becoming the time of every edgecore start.
   */
  storedNode?: () => unknown;
}

/** When Ready last turned True according to the stored Node, or undefined when it was not True there. */
export function readySinceOf(node: unknown): Date | undefined {
  const conditions = (node as { status?: { conditions?: unknown } } | undefined)?.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  const ready = conditions.find((condition: unknown) => (condition as { type?: unknown } | null)?.type === 'Ready') as
    | { status?: unknown; lastTransitionTime?: unknown }
    | undefined;
  if (ready?.status !== 'True' || typeof ready.lastTransitionTime !== 'string') return undefined;
  const since = new Date(ready.lastTransitionTime);
  return Number.isNaN(since.getTime()) ? undefined : since;
}

export const NODE_STATUS_SOURCE = 'edged';

export class NodeStatusReporter {
  private readonly timers: NodeJS.Timeout[] = [];
  private readySince = new Date();

  constructor(private readonly options: NodeStatusReporterOptions) {}

  start(): void {
    // this edge reports Ready=True while it runs; the status changes only if it was not True before
    let stored: unknown;
    try {
      stored = this.options.storedNode?.();
    } catch (error) {
      this.options.logger.warn({ error: String(error) }, 'could not read the stored Node; Ready starts a new transition');
    }
    this.readySince = readySinceOf(stored) ?? (this.options.now ?? (() => new Date()))();
    this.send(Operation.Insert, `null/node/${this.options.nodeName}`, hostNode(this.options, this.readySince));
    this.renewLease();
    this.every(this.options.leaseRenewSeconds ?? 10, () => this.renewLease());
    this.every(this.options.statusUpdateSeconds ?? 60, () =>
      this.send(Operation.Update, `null/nodestatus/${this.options.nodeName}`, hostNodeStatus(this.options, this.readySince)),
    );
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }

  private renewLease(): void {
    const now = (this.options.now ?? (() => new Date()))();
    this.send(Operation.Update, `kube-node-lease/lease/${this.options.nodeName}`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.options.nodeName, namespace: 'kube-node-lease' },
      spec: {
        holderIdentity: this.options.nodeName,
        leaseDurationSeconds: this.options.leaseDurationSeconds ?? 40,
        renewTime: now.toISOString(),
      },
    });
  }

  private every(seconds: number, task: () => void): void {
    const timer = setInterval(task, seconds * 1000);
    timer.unref();
    this.timers.push(timer);
  }

  private send(operation: string, resource: string, content: unknown): void {
    try {
      this.options.reporter.report(newMessage({ source: NODE_STATUS_SOURCE, group: Group.Resource, operation, resource, content }));
    } catch (error) {
      this.options.logger.error({ error: String(error), resource }, 'could not queue a node report');
    }
  }
}
