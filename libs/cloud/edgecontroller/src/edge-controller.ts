// startEdgeController: informers → desired sets → per-node queues down through CloudHub, and the
// upstream handler for what edges send back, all on the router group `resource`.
import { EDGE_ROLE_LABEL, KubeJson, isNotFound, ManagedInformer, type InformerBackoff, type InformerEvent } from '@kedge/kube-client';
import { Group, Operation, parseCloudResource, type Message } from '@kedge/protocol';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { DesiredState } from './desired-state';
import { Downstream, type DownstreamHub, type DownstreamOptions, type NodeSyncStats } from './downstream';
import { KubeWrites } from './kube-writes';
import type { NodeEndpointLookup } from './node-endpoint';
import { EdgeControllerMetrics } from './metrics';
import type { KubeObject } from '@kedge/kube-core';
import { DEFAULT_EVENT_BUDGET, Upstream, type EventBudgetOptions } from './upstream';
import { PodApi } from './pod-api';
import { PodCredentialClient } from './pod-credentials';

/** The part of CloudHub the controller uses. */
export interface EdgeControllerHub extends DownstreamHub {
  onNodeConnection(observer: (event: { type: 'connected' | 'disconnected'; nodeName: string }) => void): () => unknown;
}

export interface EdgeControllerOptions extends Partial<DownstreamOptions> {
  /** push services and endpoints of the namespaces where a node has pods (default true) */
  syncServices?: boolean;
  informerBackoff?: InformerBackoff;
  /** Events each edge may create (token bucket per node); DEFAULT_EVENT_BUDGET by default */
  events?: EventBudgetOptions;
  now?: () => number;
}

export interface StartEdgeControllerParams {
  kubeConfig: KubeConfig;
  hub: EdgeControllerHub;
  router: MessageRouter;
  logger: Logger;
  registry: Registry;
  options?: EdgeControllerOptions;
  /** where cloudcore serves each node's kubelet API: the Node's addresses and kubelet port point there */
  nodeEndpoint?: NodeEndpointLookup;
}

export interface EdgeControllerStats {
  ready: boolean;
  informers: { resource: string; synced: boolean }[];
  nodes: NodeSyncStats[];
}

export interface EdgeController {
  /** resolves once every informer has listed; inventories received before are diffed then */
  ready: Promise<void>;
  stats(): EdgeControllerStats;
  /** writes the node's kubelet API endpoint into its Node status now (after its port was allocated), unless the Node names it already */
  nodeEndpointChanged(nodeName: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_DOWNSTREAM_OPTIONS: DownstreamOptions = {
  maxInFlight: 32,
  maxQueued: 50_000,
  resendIntervalMs: 5_000,
  maxResendIntervalMs: 60_000,
};

export function startEdgeController(params: StartEdgeControllerParams): EdgeController {
  const { kubeConfig, hub, router, registry } = params;
  const options = params.options ?? {};
  const logger = params.logger.child({ module: 'edgecontroller' });
  const now = options.now ?? Date.now;
  const metrics = new EdgeControllerMetrics(registry);
  const json = new KubeJson(kubeConfig);

  // the informers' callbacks need the desired state and downstream, which need the informers'
  // caches; callbacks only run after start(), when both are set
  const wired: { desired?: DesiredState; downstream?: Downstream } = {};
  const dirty = (nodes: Iterable<string>): void => wired.downstream?.markDirty(nodes);
  const desiredState = (): DesiredState | undefined => wired.desired;
  const informer = (resource: string, path: string, onEvent: (event: InformerEvent, object: KubeObject) => void, labelSelector?: string) =>
    new ManagedInformer<KubeObject>({
      kubeConfig,
      json,
      resource,
      path,
      ...(labelSelector === undefined ? {} : { labelSelector }),
      ...(options.informerBackoff === undefined ? {} : { backoff: options.informerBackoff }),
      logger,
      onEvent,
      onRestart: (resource) => metrics.informerRestarts.inc({ resource }),
    });

  const name = (object: KubeObject): string => object.metadata?.name ?? '';
  const namespace = (object: KubeObject): string => object.metadata?.namespace ?? '';
  const informers = {
    nodes: informer('nodes', '/api/v1/nodes', (_event, node) => dirty([name(node)]), EDGE_ROLE_LABEL),
    pods: informer('pods', '/api/v1/pods', (event, pod) => dirty(desiredState()?.applyPod(event, pod) ?? [])),
    configmaps: informer('configmaps', '/api/v1/configmaps', (_e, cm) => dirty(desiredState()?.nodesReferencing('configmap', namespace(cm), name(cm)) ?? [])),
    secrets: informer('secrets', '/api/v1/secrets', (_e, secret) => dirty(desiredState()?.nodesReferencing('secret', namespace(secret), name(secret)) ?? [])),
  };
  const serviceInformers =
    options.syncServices === false
      ? undefined
      : {
          services: informer('services', '/api/v1/services', (_e, svc) => dirty(desiredState()?.nodesInNamespace(namespace(svc)) ?? [])),
          endpoints: informer('endpoints', '/api/v1/endpoints', (_e, ep) => dirty(desiredState()?.nodesInNamespace(namespace(ep)) ?? [])),
        };
  const all = [...Object.values(informers), ...Object.values(serviceInformers ?? {})];

  const desired = new DesiredState({
    nodes: informers.nodes.cache,
    configmaps: informers.configmaps.cache,
    secrets: informers.secrets.cache,
    ...(serviceInformers ? { services: serviceInformers.services.cache, endpoints: serviceInformers.endpoints.cache } : {}),
  });
  const sync = new Downstream(hub, desired, metrics, logger, { ...DEFAULT_DOWNSTREAM_OPTIONS, ...stripUndefined(options) }, now);
  wired.desired = desired;
  wired.downstream = sync;
  const writes = new KubeWrites(kubeConfig, params.nodeEndpoint);
  const podApi = new PodApi({
    client: new PodCredentialClient(kubeConfig),
    pods: informers.pods.cache,
    readPod: async (podNamespace, podName) => {
      try {
        return (await json.get(`/api/v1/namespaces/${encodeURIComponent(podNamespace)}/pods/${encodeURIComponent(podName)}`)) as KubeObject;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    requestToken: (tokenNamespace, account, body) => writes.requestServiceAccountToken(tokenNamespace, account, body),
  });
  const upstream = new Upstream({
    writes,
    podApi,
    desired,
    caches: { nodes: informers.nodes.cache, configmaps: informers.configmaps.cache, secrets: informers.secrets.cache, pods: informers.pods.cache },
    events: options.events ?? DEFAULT_EVENT_BUDGET,
    reply: (message) => hub.sendToNode(message),
    inventory: (node, items) => sync.inventory(node, items),
    metrics,
    logger,
    now,
  });

  const unsubscribe = hub.onNodeConnection((event) => {
    if (event.type === 'connected') sync.connected(event.nodeName);
    else sync.disconnected(event.nodeName);
  });
  const unregister = router.register(Group.Resource, async (message: Message) => {
    const { operation } = message.route;
    if ((operation === Operation.Response || operation === Operation.Error) && message.header.parent_msg_id !== undefined) {
      let node: string;
      try {
        node = parseCloudResource(message.route.resource).node;
      } catch {
        return;
      }
      if (!sync.answer(node, message)) logger.debug({ node, parent: message.header.parent_msg_id }, 'answer to no message of this session');
      return;
    }
    await upstream.handle(message);
  });

  let isReady = false;
  let closed = false;
  const ready = Promise.all(all.map((i) => i.start())).then(() => {
    if (closed) return;
    isReady = true;
    sync.setReady();
    logger.info({ informers: all.map((i) => i.resource) }, 'edge controller caches synced');
  });

  return {
    ready,
    stats: () => ({ ready: isReady, informers: all.map((i) => ({ resource: i.resource, synced: i.isSynced })), nodes: sync.stats() }),
    nodeEndpointChanged: (nodeName) => writes.pointNodeAtEndpoint(nodeName, informers.nodes.cache.get(nodeName)),
    async close() {
      if (closed) return;
      closed = true;
      unregister();
      unsubscribe();
      sync.close();
      await Promise.allSettled(all.map((i) => i.stop()));
      metrics.unregister();
    },
  };
}

function stripUndefined(options: EdgeControllerOptions): Partial<DownstreamOptions> {
  const result: Partial<DownstreamOptions> = {};
  for (const key of ['maxInFlight', 'maxQueued', 'resendIntervalMs', 'maxResendIntervalMs'] as const) {
    const value = options[key];
    if (value !== undefined) result[key] = value;
  }
  return result;
}
