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
}

export const NODE_STATUS_SOURCE = 'edged';

export class NodeStatusReporter {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = new Date();

  constructor(private readonly options: NodeStatusReporterOptions) {}

  start(): void {
    this.send(Operation.Insert, `null/node/${this.options.nodeName}`, hostNode(this.options, this.startedAt));
    this.renewLease();
    this.every(this.options.leaseRenewSeconds ?? 10, () => this.renewLease());
    this.every(this.options.statusUpdateSeconds ?? 60, () =>
      this.send(Operation.Update, `null/nodestatus/${this.options.nodeName}`, hostNodeStatus(this.options, this.startedAt)),
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
