// NodeLifecycle: the embedded API server has no kube-controller-manager, so this marks edge nodes
// whose Lease stopped being renewed Ready=Unknown and taints them unreachable:NoSchedule. Edge nodes
// with autonomy (annotation kedge.io/autonomy, "true" unless set to "false") never lose their pods
// and never get NoExecute: the edge keeps running them from its local store. Non-autonomous nodes
// also get unreachable:NoExecute and their pods are evicted by the rules in lifecycle-rules.ts.
// Nodes and leases come from informers, so a pass reads no API; staleness is measured on this
// controller's clock from when it last SAW the lease change (as Kubernetes does), so a skewed edge
// clock can neither fake liveness nor death.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  AUTONOMY_ANNOTATION,
  EDGE_ROLE_LABEL,
  KubeJson,
  ManagedInformer,
  NODE_LEASE_NAMESPACE,
  errorMessage,
  httpStatusOf,
  isNotFound,
  mergePatch,
} from '@kedge/kube-client';
import type { KubeObject } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  evictionTime,
  hasTaint,
  readyCondition,
  taintsOf,
  unknownConditions,
  unknownSince,
  UNREACHABLE_TAINT_KEY,
  withUnreachableTaint,
  withoutUnreachableTaints,
  type Taint,
} from './lifecycle-rules';

export interface StartNodeLifecycleParams {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  /** a lease not renewed for this long makes the node Unknown (default 40 000 ms) */
  gracePeriodMs?: number;
  /** how often nodes are checked (default 5 000 ms) */
  checkIntervalMs?: number;
  /** non-autonomous nodes only: pods without a matching toleration are evicted after this (default 300 000 ms) */
  evictionTimeoutMs?: number;
  now?: () => number;
}

export interface NodeLifecycle {
  /** resolves once nodes and leases are listed */
  ready: Promise<void>;
  /** one pass now (the timer runs passes anyway); resolves when it is done */
  check(): Promise<void>;
  close(): Promise<void>;
}

export function startNodeLifecycle(params: StartNodeLifecycleParams): NodeLifecycle {
  const gracePeriodMs = params.gracePeriodMs ?? 40_000;
  const checkIntervalMs = params.checkIntervalMs ?? 5_000;
  const evictionTimeoutMs = params.evictionTimeoutMs ?? 300_000;
  const now = params.now ?? Date.now;
  const logger = params.logger.child({ module: 'nodelifecycle' });
  const json = new KubeJson(params.kubeConfig);
  const core = params.kubeConfig.makeApiClient(CoreV1Api);
  /** node name → when this controller last saw its lease change (or first saw the node) */
  const renewedAt = new Map<string, number>();
  const registers = [params.registry];
  const unknownNodes = new Gauge({ name: 'kedge_nodelifecycle_unknown_nodes', help: 'Edge nodes whose lease expired (Ready=Unknown)', registers });
  const evictions = new Counter({ name: 'kedge_nodelifecycle_evictions_total', help: 'Pods evicted from unreachable non-autonomous nodes', registers });

  const nodes = new ManagedInformer<KubeObject>({
    kubeConfig: params.kubeConfig,
    json,
    resource: 'nodes',
    path: '/api/v1/nodes',
    labelSelector: EDGE_ROLE_LABEL,
    logger,
    onEvent: () => undefined,
  });
  const leases = new ManagedInformer({
    kubeConfig: params.kubeConfig,
    json,
    resource: 'leases',
    path: `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`,
    logger,
    onEvent: (event, lease) => {
      if (event !== 'delete') renewedAt.set(lease.metadata?.name ?? '', now());
    },
  });

  const patchTaints = async (node: KubeObject, taints: Taint[]): Promise<void> => {
    const name = node.metadata?.name ?? '';
    // the resourceVersion makes this a compare-and-swap: a concurrent taint edit wins, we retry next pass
    await core.patchNode({ name, body: { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints } } }, mergePatch());
  };

  const evict = async (node: string, unknownAt: number): Promise<void> => {
    const pods = await json.list<KubeObject>('/api/v1/pods', { fieldSelector: `spec.nodeName=${node}` });
    for (const pod of pods.items) {
      const at = evictionTime(pod, unknownAt, evictionTimeoutMs);
      if (pod.metadata?.deletionTimestamp !== undefined || at === undefined || now() < at) continue;
      const { name = '', namespace = 'default' } = pod.metadata ?? {};
      try {
        await core.deleteNamespacedPod({ name, namespace });
        evictions.inc();
        logger.warn({ node, pod: `${namespace}/${name}` }, 'evicted pod from unreachable non-autonomous node');
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  };

  /** When the node's lease was last seen renewed (first sight counts as a renewal). */
  const lastRenewal = (name: string): number => {
    let seen = renewedAt.get(name);
    if (seen === undefined) renewedAt.set(name, (seen = now()));
    return seen;
  };

  /** Brings one node's conditions and taints in line with its lease. */
  const reconcileNode = async (node: KubeObject, stale: boolean): Promise<void> => {
    const name = node.metadata?.name ?? '';
    const autonomous = node.metadata?.annotations?.[AUTONOMY_ANNOTATION] !== 'false';
    const taints = taintsOf(node);
    if (!stale) {
      if (taints.some((t) => t.key === UNREACHABLE_TAINT_KEY)) {
        await patchTaints(node, withoutUnreachableTaints(taints));
        logger.info({ node: name }, 'node renews its lease again; unreachable taints removed');
      }
      return;
    }
    if (readyCondition(node)?.status !== 'Unknown') {
      await core.patchNodeStatus({ name, body: { status: { conditions: unknownConditions(node, now()) } } }, mergePatch());
      logger.warn({ node: name, silentMs: now() - lastRenewal(name), autonomous }, 'node lease expired; node is Ready=Unknown');
      return; // taints follow on a later pass, against the node's new resourceVersion
    }
    let wanted = withUnreachableTaint(taints, 'NoSchedule', now());
    if (!autonomous) wanted = withUnreachableTaint(wanted, 'NoExecute', now());
    if (wanted !== taints) await patchTaints(node, wanted);
    else if (!autonomous && hasTaint(taints, UNREACHABLE_TAINT_KEY, 'NoExecute')) await evict(name, unknownSince(node) ?? lastRenewal(name));
  };

  let closed = false;
  let running: Promise<void> | undefined;
  const pass = async (): Promise<void> => {
    if (!nodes.isSynced || !leases.isSynced) return;
    let unknown = 0;
    const present = new Set<string>();
    for (const node of nodes.cache.list()) {
      const name = node.metadata?.name ?? '';
      present.add(name);
      const stale = now() - lastRenewal(name) > gracePeriodMs;
      if (stale) unknown += 1;
      try {
        await reconcileNode(node, stale);
      } catch (error) {
        const status = httpStatusOf(error);
        // 409: our cached node was older than the server's; the next pass sees the new one
        logger[status === 409 ? 'debug' : 'warn']({ node: name, status, error: errorMessage(error) }, 'node lifecycle update failed; retrying next pass');
      }
    }
    for (const name of renewedAt.keys()) if (!present.has(name) && leases.cache.get(name, NODE_LEASE_NAMESPACE) === undefined) renewedAt.delete(name);
    unknownNodes.set(unknown);
  };
  const check = (): Promise<void> => {
    running ??= pass().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void check(), checkIntervalMs);
  timer.unref();
  const ready = Promise.all([nodes.start(), leases.start()]).then(() => undefined);

  return {
    ready,
    check: async () => {
      await ready;
      // a pass already running may have read the nodes before the caller's change: run a fresh one
      await running;
      if (!closed) await check();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await Promise.allSettled([nodes.stop(), leases.stop()]);
      await running;
      params.registry.removeSingleMetric('kedge_nodelifecycle_unknown_nodes');
      params.registry.removeSingleMetric('kedge_nodelifecycle_evictions_total');
    },
  };
}
