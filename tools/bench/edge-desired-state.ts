// What every simulated edge must hold, computed from the API independently of the edge controller,
// and how to judge what the edges received: shared by the swarm and edge-scale benchmarks (and the
// edge-scale dialer processes, which check their own edges against the desired sets they are sent).
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { ReceivedMessage, SimulatedEdge } from '@kedge/testkit';

export const EDGE_LABEL = 'node-role.kubernetes.io/edge';

/** node → (`<type>/<namespace>/<name>` → resourceVersion) */
export type Desired = Map<string, Map<string, string>>;

interface Meta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
}

export const podKey = (pod: { namespace: string; name: string }): string => `pod/${pod.namespace}/${pod.name}`;

function configMapRefs(pod: V1Pod): string[] {
  const names: string[] = [];
  const spec = pod.spec;
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const from of container.envFrom ?? []) if (from.configMapRef?.name) names.push(from.configMapRef.name);
    for (const env of container.env ?? []) if (env.valueFrom?.configMapKeyRef?.name) names.push(env.valueFrom.configMapKeyRef.name);
  }
  for (const volume of spec?.volumes ?? []) {
    if (volume.configMap?.name) names.push(volume.configMap.name);
    for (const source of volume.projected?.sources ?? []) if (source.configMap?.name) names.push(source.configMap.name);
  }
  return names;
}

/**
 * The desired set of every node in `nodes`: its Node (if labelled edge), its pods, the configmaps they
 * reference, and the services/endpoints of the namespaces it has pods in.
 */
export async function desiredState(core: CoreV1Api, nodes: readonly string[]): Promise<Desired> {
  const [nodeList, podList, configMapList, serviceList, endpointsList] = await Promise.all([
    core.listNode(),
    core.listPodForAllNamespaces(),
    core.listConfigMapForAllNamespaces(),
    core.listServiceForAllNamespaces(),
    core.listEndpointsForAllNamespaces(),
  ]);
  const versionsByKey = (type: string, items: Meta[]): Map<string, string> =>
    new Map(items.map((item) => [`${type}/${item.metadata?.namespace ?? 'null'}/${item.metadata?.name ?? ''}`, item.metadata?.resourceVersion ?? '']));
  const configMaps = versionsByKey('configmap', configMapList.items);
  const namespaced = [...versionsByKey('service', serviceList.items), ...versionsByKey('endpoints', endpointsList.items)];
  const desired: Desired = new Map(nodes.map((node) => [node, new Map<string, string>()]));
  for (const node of nodeList.items) {
    const name = node.metadata?.name ?? '';
    if (desired.has(name) && node.metadata?.labels?.[EDGE_LABEL] !== undefined) desired.get(name)!.set(`node/null/${name}`, node.metadata.resourceVersion ?? '');
  }
  for (const pod of podList.items) {
    const set = desired.get(pod.spec?.nodeName ?? '');
    // a node that is not an edge node wants nothing
    if (set === undefined || !set.has(`node/null/${pod.spec?.nodeName ?? ''}`)) continue;
    const namespace = pod.metadata?.namespace ?? '';
    set.set(podKey({ namespace, name: pod.metadata?.name ?? '' }), pod.metadata?.resourceVersion ?? '');
    for (const name of configMapRefs(pod)) {
      const key = `configmap/${namespace}/${name}`;
      const version = configMaps.get(key);
      if (version !== undefined) set.set(key, version);
    }
  }
  for (const set of desired.values()) {
    const namespaces = new Set([...set.keys()].filter((key) => key.startsWith('pod/')).map((key) => key.split('/')[1]));
    for (const [key, version] of namespaced) if (namespaces.has(key.split('/')[1])) set.set(key, version);
  }
  return desired;
}

/** true when the edge holds exactly `want`: the same keys at the same resourceVersions. */
export function matches(edge: SimulatedEdge, want: ReadonlyMap<string, string> | undefined): boolean {
  if (want === undefined || edge.store.size !== want.size) return false;
  for (const [key, version] of want) if (edge.store.get(key)?.resourceVersion !== version) return false;
  return true;
}

export interface DiffCount {
  insert: number;
  update: number;
  delete: number;
}

export const totalOf = (diff: DiffCount): number => diff.insert + diff.update + diff.delete;

/** What an edge holding `have` must be sent to reach `want`: the ideal down messages. */
export function diff(have: ReadonlyMap<string, string>, want: ReadonlyMap<string, string>): DiffCount {
  const count: DiffCount = { insert: 0, update: 0, delete: 0 };
  for (const [key, version] of want) {
    const held = have.get(key);
    if (held === undefined) count.insert += 1;
    else if (held !== version) count.update += 1;
  }
  for (const key of have.keys()) if (!want.has(key)) count.delete += 1;
  return count;
}

export const addDiff = (a: DiffCount, b: DiffCount): DiffCount => ({ insert: a.insert + b.insert, update: a.update + b.update, delete: a.delete + b.delete });

/** What the edge holds: key → resourceVersion. */
export const snapshot = (edge: SimulatedEdge): Map<string, string> => new Map([...edge.store].map(([key, object]) => [key, object.resourceVersion]));

/** The first differing edge, for an error message. */
export function describeMismatch(edges: readonly SimulatedEdge[], desired: Desired): string {
  const wrong = edges.filter((edge) => !matches(edge, desired.get(edge.nodeName)));
  const first = wrong[0];
  if (first === undefined) return 'all edges match';
  const want = desired.get(first.nodeName) ?? new Map<string, string>();
  const have = snapshot(first);
  const missing = [...want].filter(([key, version]) => have.get(key) !== version).map(([key, version]) => `${key}@${version} (has ${have.get(key) ?? '-'})`);
  const extra = [...have.keys()].filter((key) => !want.has(key));
  return `${wrong.length} edges differ; ${first.nodeName}: missing/stale [${missing.slice(0, 5).join(', ')}] extra [${extra.slice(0, 5).join(', ')}]`;
}

export interface MessageCount {
  total: number;
  /** messages that changed nothing at the edge: a version it already had, a delete of nothing */
  redundant: number;
  byOperation: DiffCount;
}

/** true for a down message that changed nothing at the edge (same version again, delete of nothing). */
export function isRedundant(message: Pick<ReceivedMessage, 'operation' | 'previousResourceVersion' | 'resourceVersion'>): boolean {
  return message.operation === 'delete' ? message.previousResourceVersion === undefined : message.previousResourceVersion === (message.resourceVersion ?? '0');
}

/** Messages of a phase, with the ones that changed nothing at the edge. */
export function countMessages(messages: readonly ReceivedMessage[]): MessageCount {
  const byOperation: DiffCount = { insert: 0, update: 0, delete: 0 };
  let redundant = 0;
  for (const m of messages) {
    if (m.operation === 'insert' || m.operation === 'update' || m.operation === 'delete') byOperation[m.operation] += 1;
    if (isRedundant(m)) redundant += 1;
  }
  return { total: messages.length, redundant, byOperation };
}

export const addCounts = (a: MessageCount, b: MessageCount): MessageCount => ({
  total: a.total + b.total,
  redundant: a.redundant + b.redundant,
  byOperation: addDiff(a.byOperation, b.byOperation),
});
