// Edge → cloud messages (group `resource`). The node segment of every resource was put there by
// CloudHub from the authenticated connection, so it is who is asking; every handler checks that the
// object named is that node's own, and refuses (error answer, log line, metric) anything else.
import { CLUSTER_SCOPED_NAMESPACE, Operation, POD_API_TYPE, SERVICE_ACCOUNT_TOKEN_TYPE, newErrorResponse, newResponse, parseCloudResource, type CloudResource, type Message } from '@kedge/protocol';
import type { ObjectCache, V1Pod } from '@kubernetes/client-node';
import { EDGE_ROLE_LABEL, NODE_LEASE_NAMESPACE, errorMessage, httpStatusOf, isNotFound } from '@kedge/kube-client';
import { isRecord, type KubeObject } from '@kedge/kube-core';
import { LogThrottle, type Logger } from '@kedge/telemetry';
import { TokenBucket } from '@kedge/transport';
import type { DesiredState } from './desired-state';
import { UpstreamRefusedError } from './errors';
import { INVENTORY_TYPE, parseInventory, type InventoryItem } from './inventory';
import { nodeStatusFrom, type KubeWrites } from './kube-writes';
import type { EdgeControllerMetrics } from './metrics';
import { EDGECONTROLLER_SOURCE } from './node-queue';
import { nodeLabelRefusal } from './node-labels';
import type { PodApi } from './pod-api';

export interface UpstreamDeps {
  writes: KubeWrites;
  desired: DesiredState;
  /** `nodes` holds the edge nodes only (the informer selects on the edge role label) */
  caches: { nodes: ObjectCache<KubeObject>; configmaps: ObjectCache<KubeObject>; secrets: ObjectCache<KubeObject>; pods: ObjectCache<KubeObject> };
  /** Events a node may create: `perSecond` sustained, `burst` at once */
  events: EventBudgetOptions;
  reply: (message: Message) => Promise<void>;
  inventory: (node: string, items: InventoryItem[]) => void;
  metrics: EdgeControllerMetrics;
  /** tokens, reviews and writes for the node's pods (pod-api.ts) */
  podApi: PodApi;
  logger: Logger;
  now: () => number;
}

const KNOWN_TYPES = new Set(['node', 'nodestatus', 'lease', 'pod', 'podstatus', 'event', 'configmap', 'secret', INVENTORY_TYPE, SERVICE_ACCOUNT_TOKEN_TYPE, POD_API_TYPE]);

type Json = Record<string, unknown>;

export interface EventBudgetOptions {
  perSecond: number;
  burst: number;
}

export const DEFAULT_EVENT_BUDGET: EventBudgetOptions = { perSecond: 5, burst: 50 };

/** One token bucket per node: a flooding edge loses its own events, never another node's. */
class EventBudget {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: EventBudgetOptions,
    private readonly now: () => number,
  ) {}

  take(node: string): boolean {
    let bucket = this.buckets.get(node);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.options.perSecond, this.options.burst, this.now);
      this.buckets.set(node, bucket);
    }
    return bucket.take();
  }
}

type EdgeNodeState = 'edge' | 'absent' | 'other';

function record(value: unknown): Json | undefined {
  return isRecord(value) ? value : undefined;
}

function refuse(reason: UpstreamRefusedError['reason'], message: string): never {
  throw new UpstreamRefusedError(reason, message);
}

export class Upstream {
  private readonly throttle = new LogThrottle();
  private readonly eventBudget: EventBudget;

  constructor(private readonly deps: UpstreamDeps) {
    this.eventBudget = new EventBudget(deps.events, deps.now);
  }

  /**
   * Whether `node` is an edge node kedge registered: the edge informer's cache first, the API server
   * when the cache has not seen it yet (a node that registered a moment ago).
   */
  private async edgeNodeState(node: string): Promise<EdgeNodeState> {
    if (this.deps.caches.nodes.get(node) !== undefined) return 'edge';
    try {
      const found = await this.deps.writes.readNode(node);
      return found.metadata?.labels?.[EDGE_ROLE_LABEL] === undefined ? 'other' : 'edge';
    } catch (error) {
      if (isNotFound(error)) return 'absent';
      throw error;
    }
  }

  /** Everything but registration and the inventory needs a registered edge node. */
  private async requireEdgeNode(node: string, registering: boolean): Promise<void> {
    const state = await this.edgeNodeState(node);
    if (state === 'other') {
      refuse('not-edge-node', `node "${node}" exists and is not an edge node registered by kedge (no ${EDGE_ROLE_LABEL} label); an edge cannot act as it`);
    }
    if (state === 'absent' && !registering) {
      refuse('not-registered', `node "${node}" is not registered (or its Node was deleted); the edge registers its Node first`);
    }
  }

  private refuseForbiddenLabels(node: string, content: unknown): void {
    const labels = record(record(record(content)?.['metadata'])?.['labels']) ?? {};
    for (const [key, value] of Object.entries(labels)) {
      const why = nodeLabelRefusal(node, key, typeof value === 'string' ? value : String(value));
      if (why !== undefined) refuse('forbidden-label', `${why}; remove it from the node's edgecore.yaml labels`);
    }
  }

  /** Handles one upstream message and answers it; never throws. */
  async handle(message: Message): Promise<void> {
    let resource: CloudResource;
    try {
      resource = parseCloudResource(message.route.resource);
    } catch (error) {
      await this.answerRefusal(message, 'unknown', undefined, new UpstreamRefusedError('invalid', errorMessage(error)));
      return;
    }
    const type = KNOWN_TYPES.has(resource.type) ? resource.type : 'other';
    try {
      const content = await this.dispatch(resource, message);
      this.deps.metrics.upstream.inc({ type, result: 'ok' });
      await this.send(newResponse(message, content, EDGECONTROLLER_SOURCE));
    } catch (error) {
      if (error instanceof UpstreamRefusedError) {
        await this.answerRefusal(message, type, resource.node, error);
        return;
      }
      this.deps.metrics.upstream.inc({ type, result: 'error' });
      const status = httpStatusOf(error);
      this.throttle.run(`error:${resource.node}:${type}`, (suppressed) =>
        this.deps.logger.warn({ node: resource.node, resource: message.route.resource, operation: message.route.operation, status, error: errorMessage(error), suppressed }, 'upstream message failed'),
      );
      await this.send(newErrorResponse(message, `${type} ${message.route.operation} failed: ${errorMessage(error)}`, EDGECONTROLLER_SOURCE));
    }
  }

  private async dispatch(resource: CloudResource, message: Message): Promise<unknown> {
    const { node, namespace, type, name } = resource;
    const operation = message.route.operation;
    const { writes } = this.deps;
    const own = (what: string): void => {
      if (name !== node) refuse('foreign-node', `node "${node}" may not touch ${what} "${String(name)}"`);
    };
    // the inventory touches nothing in Kubernetes: a node that is not an edge node just wants nothing
    if (type !== INVENTORY_TYPE) {
      const registering = type === 'node' && (operation === Operation.Insert || operation === Operation.Update);
      if (registering) {
        own('node');
        this.refuseForbiddenLabels(node, message.content);
      }
      await this.requireEdgeNode(node, registering);
    }
    switch (`${type}:${operation}`) {
      case `${INVENTORY_TYPE}:${Operation.Query}`:
        own('the inventory of node');
        this.deps.inventory(node, parseInventory(message.content));
        return 'OK';
      case `node:${Operation.Insert}`:
      case `node:${Operation.Update}`:
        own('node');
        return writes.registerNode(node, message.content, operation === Operation.Insert);
      case `nodestatus:${Operation.Update}`: {
        own('the status of node');
        const status = nodeStatusFrom(message.content);
        if (Object.keys(status).length === 0) refuse('invalid', 'node status content has none of conditions, addresses, capacity, allocatable, nodeInfo');
        await writes.patchNodeStatus(node, status);
        return 'OK';
      }
      case `lease:${Operation.Insert}`:
      case `lease:${Operation.Update}`:
        own('the lease of node');
        if (namespace !== NODE_LEASE_NAMESPACE) refuse('foreign-node', `node leases live in ${NODE_LEASE_NAMESPACE}, not in "${namespace}"`);
        await writes.renewLease(node, message.content, new Date(this.deps.now()));
        return 'OK';
      case `podstatus:${Operation.Update}`:
        await this.podStatus(node, namespace, this.named(resource), message.content);
        return 'OK';
      case `pod:${Operation.Delete}`:
        await this.podDeleted(node, namespace, this.named(resource));
        return 'OK';
      case `event:${Operation.Insert}`:
        await this.event(node, namespace, this.named(resource), message.content);
        return 'OK';
      case `${SERVICE_ACCOUNT_TOKEN_TYPE}:${Operation.Query}`:
        return this.deps.podApi.token(node, namespace, this.named(resource), message.content);
      case `${POD_API_TYPE}:${Operation.Query}`:
        return this.deps.podApi.handle(node, resource.name ?? '', message.content);
      case `configmap:${Operation.Query}`:
      case `secret:${Operation.Query}`:
        return this.query(node, type as 'configmap' | 'secret', namespace, this.named(resource));
      default:
        return refuse('unsupported', `the edge controller does not handle ${operation} of ${type}`);
    }
  }

  private named(resource: CloudResource): string {
    if (resource.name === undefined) refuse('invalid', `resource ${resource.type} needs a name`);
    if (resource.namespace === CLUSTER_SCOPED_NAMESPACE) refuse('invalid', `${resource.type} is namespaced; "null" is not a namespace`);
    return resource.name;
  }

  private async boundPod(node: string, namespace: string, name: string): Promise<V1Pod> {
    let pod: V1Pod;
    try {
      pod = await this.deps.writes.readPod(namespace, name);
    } catch (error) {
      if (isNotFound(error)) refuse('not-found', `pod ${namespace}/${name} does not exist`);
      throw error;
    }
    if (pod.spec?.nodeName !== node) refuse('pod-not-bound', `pod ${namespace}/${name} is not bound to node "${node}"`);
    return pod;
  }

  /** The edge stopped a terminating pod's containers: remove the pod (what a kubelet does). */
  private async podDeleted(node: string, namespace: string, name: string): Promise<void> {
    const pod = await this.boundPod(node, namespace, name);
    if (pod.metadata?.deletionTimestamp === undefined) refuse('not-terminating', `pod ${namespace}/${name} is not being deleted; only the cloud starts pod deletions`);
    await this.deps.writes.finishPodDeletion(namespace, name, pod.metadata.uid);
  }

  private async podStatus(node: string, namespace: string, name: string, content: unknown): Promise<void> {
    const uid = record(record(content)?.['metadata'])?.['uid'];
    await this.boundPodForStatus(node, namespace, name, typeof uid === 'string' ? uid : undefined);
    const status = record(record(content)?.['status']) ?? record(content);
    if (status === undefined) refuse('invalid', 'pod status content must be an object');
    try {
      await this.deps.writes.patchPodStatus(namespace, name, status);
    } catch (error) {
      // deleted after the check: the same answer as a report about a pod that does not exist
      if (isNotFound(error)) refuse('not-found', `pod ${namespace}/${name} does not exist`);
      throw error;
    }
  }

  /**
   * Status reports are most of what an edge sends, two or more per pod start: the pod informer's copy answers
   * whether the pod is bound to the node without a read from the API server (a pod's nodeName never changes
   * once set). A pod the informer has not seen, or whose uid is not the one the edge reports (deleted and
   * created again under the same name), is read from the API server, and a report about an earlier uid refused.
   */
  private async boundPodForStatus(node: string, namespace: string, name: string, uid: string | undefined): Promise<void> {
    const cached = this.deps.caches.pods.get(name, namespace);
    const cachedUid = (cached?.['metadata'] as { uid?: unknown } | undefined)?.uid;
    const boundTo = (cached?.['spec'] as { nodeName?: unknown } | undefined)?.nodeName;
    if (cached !== undefined && boundTo === node && (uid === undefined || cachedUid === uid)) return;
    const pod = await this.boundPod(node, namespace, name);
    // the kubelet's rule: a report about an earlier pod of the same name must not become the new pod's status
    if (uid !== undefined && pod.metadata?.uid !== uid) {
      refuse('not-found', `pod ${namespace}/${name} with uid ${uid} does not exist (it was deleted and created again as uid ${String(pod.metadata?.uid)})`);
    }
  }

  private async event(node: string, namespace: string, name: string, content: unknown): Promise<void> {
    if (!this.eventBudget.take(node)) {
      refuse('rate-limited', `node "${node}" sends more than ${this.deps.events.perSecond} events per second (burst ${this.deps.events.burst}); this one was dropped`);
    }
    const event = record(content);
    if (event === undefined) refuse('invalid', 'event content must be an Event object');
    const involved = record(event['involvedObject']);
    const kind = involved?.['kind'];
    if (kind === 'Node' && involved?.['name'] !== node) refuse('foreign-node', `node "${node}" may not report events about node "${String(involved?.['name'])}"`);
    if (kind === 'Pod') {
      const podName = typeof involved?.['name'] === 'string' ? involved['name'] : '';
      const podNamespace = typeof involved?.['namespace'] === 'string' ? involved['namespace'] : namespace;
      const pod = this.deps.caches.pods.get(podName, podNamespace);
      const boundTo = (pod?.['spec'] as { nodeName?: unknown } | undefined)?.nodeName;
      if (boundTo !== node) refuse('pod-not-bound', `node "${node}" may not report events about pod ${podNamespace}/${podName}`);
    }
    const metadata: Json = { ...record(event['metadata']), name, namespace };
    delete metadata['resourceVersion'];
    delete metadata['uid'];
    delete metadata['creationTimestamp'];
    await this.deps.writes.createEvent(namespace, { ...event, apiVersion: 'v1', kind: 'Event', metadata });
  }

  private query(node: string, type: 'configmap' | 'secret', namespace: string, name: string): KubeObject {
    if (!this.deps.desired.isReferencedBy(node, type, namespace, name)) {
      refuse('not-referenced', `no pod of node "${node}" references ${type} ${namespace}/${name}`);
    }
    const object = (type === 'configmap' ? this.deps.caches.configmaps : this.deps.caches.secrets).get(name, namespace);
    if (object === undefined) refuse('not-found', `${type} ${namespace}/${name} does not exist`);
    return object;
  }

  private async answerRefusal(message: Message, type: string, node: string | undefined, error: UpstreamRefusedError): Promise<void> {
    const { metrics, logger } = this.deps;
    metrics.upstream.inc({ type, result: 'refused' });
    metrics.refused.inc({ reason: error.reason });
    this.throttle.run(`refused:${String(node)}:${error.reason}`, (suppressed) =>
      logger.warn({ node, resource: message.route.resource, operation: message.route.operation, reason: error.reason, error: error.message, suppressed }, 'refused upstream message'),
    );
    await this.send(newErrorResponse(message, `${error.reason}: ${error.message}`, EDGECONTROLLER_SOURCE));
  }

  private async send(message: Message): Promise<void> {
    try {
      await this.deps.reply(message);
    } catch (error) {
      this.deps.logger.debug({ resource: message.route.resource, error: errorMessage(error) }, 'answer not sent');
    }
  }
}
