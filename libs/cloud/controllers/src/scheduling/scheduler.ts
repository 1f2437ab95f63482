// The default scheduler: binds pending pods (no spec.nodeName, schedulerName default-scheduler or
// unset) to a node through pods/binding. A pod that fits nowhere gets PodScheduled=False/Unschedulable
// and a FailedScheduling Event with upstream's summary, and is retried when nodes or pods change
// (and every minute), never in a loop of its own.
import { isConflict, isNotFound, mergePatch, type WorkQueue } from '@kedge/kube-client';
import type { Node, Pod } from '../objects';
import { isDeleting, keyOf, nameOf, namespaceOf, splitKey } from '../objects';
import { isPodTerminal } from '../pod-state';
import { createControllerQueue, type ControllerContext } from '../runtime/controller-context';
import { addUsage, emptyUsage, pickNode, podFitsNode, podRequests, unschedulableMessage, type NodeUsage } from './node-fit';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
const UNSCHEDULABLE_RETRY_MS = 60_000;

export function wantsDefaultScheduler(pod: Pod): boolean {
  const name = pod.spec?.schedulerName;
  return (name === undefined || name === '' || name === DEFAULT_SCHEDULER_NAME) && (pod.spec?.nodeName ?? '') === '' && !isDeleting(pod) && !isPodTerminal(pod);
}

/** Node fields whose change can make an unschedulable pod fit. */
function schedulingView(node: Node): string {
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready')?.status;
  return JSON.stringify([node.metadata?.labels, node.spec?.taints, node.spec?.unschedulable, node.status?.allocatable, ready]);
}

export class Scheduler {
  readonly queue: WorkQueue;
  /** pods bound by us that the informer has not shown bound yet: key → node */
  private readonly assumed = new Map<string, string>();
  /** pods that fit nowhere on the last try, with the message they got */
  private readonly unschedulable = new Map<string, string>();

  constructor(private readonly context: ControllerContext) {
    this.queue = createControllerQueue(context, 'scheduler', (key) => this.schedule(key), (key) => {
      const { namespace, name } = splitKey(key);
      const pod = context.informers.pods.get(name, namespace);
      return pod === undefined ? undefined : { kind: 'Pod', apiVersion: 'v1', object: pod };
    }, 8);
    context.informers.pods.subscribe((event, pod) => {
      const key = keyOf(pod);
      if (event === 'delete' || !wantsDefaultScheduler(pod)) {
        this.unschedulable.delete(key);
        if (event === 'delete' || (pod.spec?.nodeName ?? '') !== '') this.assumed.delete(key);
        // a pod leaving frees room for the waiting ones
        if (event === 'delete' || isPodTerminal(pod)) this.retryUnschedulable();
        return;
      }
      this.queue.add(key);
    });
    context.informers.nodes.subscribe((event, node, previous) => {
      if (event === 'update' && previous !== undefined && schedulingView(previous) === schedulingView(node)) return;
      this.retryUnschedulable();
    });
  }

  private retryUnschedulable(): void {
    for (const key of this.unschedulable.keys()) this.queue.add(key);
  }

  /** Pods per node, from the informer plus our own bindings it has not shown yet. */
  private nodeUsage(): Map<string, NodeUsage> {
    const usage = new Map<string, NodeUsage>();
    const add = (nodeName: string, pod: Pod): void => {
      let entry = usage.get(nodeName);
      if (entry === undefined) usage.set(nodeName, (entry = emptyUsage()));
      let requests: Record<string, number>;
      try {
        requests = podRequests(pod.spec);
      } catch {
        requests = {}; // a bound pod with an odd request still takes a pod slot
      }
      addUsage(entry, requests);
    };
    for (const pod of this.context.informers.pods.list()) {
      if (isPodTerminal(pod)) continue;
      const nodeName = pod.spec?.nodeName || this.assumed.get(keyOf(pod)) || '';
      if (nodeName !== '') add(nodeName, pod);
    }
    return usage;
  }

  private async schedule(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const pod = this.context.informers.pods.get(name, namespace);
    if (pod === undefined || !wantsDefaultScheduler(pod) || this.assumed.has(key)) return;
    const requests = podRequests(pod.spec);
    const nodes = this.context.informers.nodes.list().filter((node) => !isDeleting(node));
    const usage = this.nodeUsage();
    const candidates: Array<{ node: Node; usage: NodeUsage }> = [];
    const reasons: string[][] = [];
    for (const node of nodes) {
      const nodeUsage = usage.get(nameOf(node)) ?? emptyUsage();
      const fit = podFitsNode(pod, requests, node, nodeUsage);
      if (fit.fits) candidates.push({ node, usage: nodeUsage });
      else reasons.push(fit.reasons);
    }
    const chosen = pickNode(candidates);
    if (chosen === undefined) {
      this.context.metrics.schedulingAttempts.inc({ result: 'unschedulable' });
      await this.markUnschedulable(pod, unschedulableMessage(nodes.length, reasons));
      return;
    }
    const nodeName = nameOf(chosen);
    // assumed before the first await, as kube-scheduler's assume step: everything above ran in one tick,
    // so concurrent workers each see the pods the others placed, and bindings overlap on the wire
    this.assumed.set(key, nodeName);
    try {
      await this.context.core.createNamespacedPodBinding({
        name,
        namespace,
        body: { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid: pod.metadata?.uid } as never, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } },
      });
    } catch (error) {
      // already bound (by someone else, or our earlier try whose answer got lost): the informer will say where
      if (isConflict(error) || isNotFound(error)) return;
      this.assumed.delete(key);
      this.context.metrics.schedulingAttempts.inc({ result: 'error' });
      throw error;
    }
    this.unschedulable.delete(key);
    this.context.metrics.schedulingAttempts.inc({ result: 'scheduled' });
    this.context.events.emit({ kind: 'Pod', apiVersion: 'v1', object: pod }, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
    this.context.logger.info({ pod: key, node: nodeName }, 'pod scheduled');
  }

  private async markUnschedulable(pod: Pod, message: string): Promise<void> {
    const key = keyOf(pod);
    const previous = this.unschedulable.get(key);
    this.unschedulable.set(key, message);
    // nodes that appear are noticed by the node informer; the timer catches what it cannot see (pods freeing room elsewhere)
    this.queue.addAfter(key, UNSCHEDULABLE_RETRY_MS);
    const condition = pod.status?.conditions?.find((entry) => entry.type === 'PodScheduled');
    if (previous === message && condition?.status === 'False' && condition.message === message) return;
    this.context.logger.info({ pod: key, reason: message }, 'pod unschedulable');
    this.context.events.emit({ kind: 'Pod', apiVersion: 'v1', object: pod }, 'Warning', 'FailedScheduling', message);
    const conditions = (pod.status?.conditions ?? []).filter((entry) => entry.type !== 'PodScheduled');
    const at = new Date(this.context.now()).toISOString().replace(/\.\d+Z$/, 'Z');
    const transition = condition?.status === 'False' ? (condition.lastTransitionTime ?? at) : at;
    conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: transition });
    try {
      await this.context.core.patchNamespacedPodStatus({ name: nameOf(pod), namespace: namespaceOf(pod), body: { status: { conditions } } }, mergePatch());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
