// The Kubernetes writes behind upstream messages, through client-node's typed clients. Status and
// lease changes are JSON merge patches (application/merge-patch+json), which every API server takes.
import { CoordinationV1Api, CoreV1Api, type AuthenticationV1TokenRequest, type CoreV1Event, type KubeConfig, type V1Lease, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { EDGE_ADDRESSES_ANNOTATION, pointAtEndpoint, type NodeEndpoint, type NodeEndpointLookup } from './node-endpoint';
import { AUTONOMY_ANNOTATION, EDGE_ROLE_LABEL, NODE_LEASE_NAMESPACE, isConflict, isNotFound, mergePatch, microTime } from '@kedge/kube-client';

export const DEFAULT_LEASE_DURATION_SECONDS = 40;
/** label prefix a node may not set on itself (Kubernetes NodeRestriction does the same) */
const RESTRICTED_LABEL_PREFIX = 'node-restriction.kubernetes.io/';
const NODE_STATUS_FIELDS = ['conditions', 'addresses', 'capacity', 'allocatable', 'nodeInfo', 'daemonEndpoints', 'images', 'phase'] as const;

type Json = Record<string, unknown>;

function record(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(record(value) ?? {})) if (typeof entry === 'string') result[key] = entry;
  return result;
}

/** The node status fields of a message content: `{status: {...}}`, a whole Node, or the bare status. */
export function nodeStatusFrom(content: unknown): Json {
  const source = record(record(content)?.['status']) ?? record(content) ?? {};
  const status: Json = {};
  for (const field of NODE_STATUS_FIELDS) if (source[field] !== undefined) status[field] = source[field];
  return status;
}

/** Whether a Node status has exactly the endpoint's address as its only address, and the endpoint's port. */
function namesEndpoint(status: unknown, endpoint: NodeEndpoint): boolean {
  const addresses = record(status)?.['addresses'];
  const port = record(record(record(status)?.['daemonEndpoints'])?.['kubeletEndpoint'])?.['Port'];
  if (!Array.isArray(addresses) || addresses.length !== 1 || port !== endpoint.port) return false;
  const only = record(addresses[0]);
  return only !== undefined && Object.keys(only).length === 2 && only['type'] === 'InternalIP' && only['address'] === endpoint.address;
}

/** The Node an edge registers as: its labels plus the edge role, autonomy on unless it says "false". */
export function registrationNode(nodeName: string, content: unknown): Json {
  const metadata = record(record(content)?.['metadata']);
  const labels = Object.fromEntries(Object.entries(stringMap(metadata?.['labels'])).filter(([key]) => !key.startsWith(RESTRICTED_LABEL_PREFIX)));
  const requestedAutonomy = stringMap(metadata?.['annotations'])[AUTONOMY_ANNOTATION];
  const spec = record(record(content)?.['spec']);
  const node: Json = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: nodeName,
      labels: { ...labels, [EDGE_ROLE_LABEL]: '' },
      annotations: { [AUTONOMY_ANNOTATION]: requestedAutonomy === 'false' ? 'false' : 'true' },
    },
    spec: Array.isArray(spec?.['taints']) ? { taints: spec['taints'] } : {},
    status: nodeStatusFrom(content),
  };
  return node;
}

export class KubeWrites {
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  /** the edge addresses last written to each Node's annotation, so unchanged ones are not patched again */
  private readonly recordedEdgeAddresses = new Map<string, string>();

  constructor(
    kubeConfig: KubeConfig,
    /** where cloudcore serves the node's kubelet API; the Node's addresses point there */
    private readonly nodeEndpoint: NodeEndpointLookup = () => undefined,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  /** Creates the Node if missing (insert) and patches its status; returns the Node. */
  async registerNode(nodeName: string, content: unknown, create: boolean): Promise<V1Node> {
    const status = nodeStatusFrom(content);
    if (create) {
      try {
        const node = registrationNode(nodeName, content);
        const pointed = pointAtEndpoint(status, this.nodeEndpoint(nodeName));
        if (pointed.edgeAddresses !== undefined) {
          const annotations = (node['metadata'] as { annotations: Record<string, string> }).annotations;
          annotations[EDGE_ADDRESSES_ANNOTATION] = JSON.stringify(pointed.edgeAddresses);
        }
        node['status'] = pointed.status;
        const created = await this.core.createNode({ body: node as V1Node });
        if (pointed.edgeAddresses !== undefined) this.recordedEdgeAddresses.set(nodeName, JSON.stringify(pointed.edgeAddresses));
        // some API servers drop status on create: write it through the status subresource as well
        return Object.keys(pointed.status).length === 0 ? created : await this.patchNodeStatus(nodeName, status);
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    try {
      return await this.patchNodeStatus(nodeName, status);
    } catch (error) {
      if (!isNotFound(error) || create) throw error;
      return this.registerNode(nodeName, content, true);
    }
  }

  readNode(nodeName: string): Promise<V1Node> {
    return this.core.readNode({ name: nodeName });
  }

  /** Patches the Node's status as the edge reports it, with its addresses pointed at the kubelet API endpoint. */
  async patchNodeStatus(nodeName: string, status: Json): Promise<V1Node> {
    const pointed = pointAtEndpoint(status, this.nodeEndpoint(nodeName));
    const node = await this.core.patchNodeStatus({ name: nodeName, body: { status: pointed.status } }, mergePatch());
    if (pointed.edgeAddresses !== undefined && pointed.status !== status) await this.recordEdgeAddresses(nodeName, pointed.edgeAddresses);
    return node;
  }

  /**
   * Points the Node at its kubelet API endpoint now (its port was just allocated); a missing Node is left
   * alone, and so is one whose status (`known`, the informer's copy) already names exactly that address and
   * port. After a cloudcore restart every reconnecting node gets its port again, mostly the same one: a write
   * each would cost the API server a patch per node in the storm, and a real change a new Node sent down.
   */
  async pointNodeAtEndpoint(nodeName: string, known?: object): Promise<void> {
    const endpoint = this.nodeEndpoint(nodeName);
    const pointed = pointAtEndpoint({}, endpoint);
    if (endpoint === undefined || pointed.status['daemonEndpoints'] === undefined) return;
    if (known !== undefined && namesEndpoint((known as { status?: unknown }).status, endpoint)) return;
    try {
      await this.core.patchNodeStatus({ name: nodeName, body: { status: pointed.status } }, mergePatch());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async recordEdgeAddresses(nodeName: string, addresses: unknown[]): Promise<void> {
    const text = JSON.stringify(addresses);
    if (this.recordedEdgeAddresses.get(nodeName) === text) return;
    await this.core.patchNode({ name: nodeName, body: { metadata: { annotations: { [EDGE_ADDRESSES_ANNOTATION]: text } } } }, mergePatch());
    this.recordedEdgeAddresses.set(nodeName, text);
  }

  /** Creates or renews the node's Lease; renewTime is the cloud's clock (one clock for all leases). */
  async renewLease(nodeName: string, content: unknown, now: Date): Promise<V1Lease> {
    const requested = record(record(content)?.['spec']) ?? record(content) ?? {};
    const duration = requested['leaseDurationSeconds'];
    const spec = {
      holderIdentity: nodeName,
      leaseDurationSeconds: typeof duration === 'number' && Number.isInteger(duration) && duration > 0 ? duration : DEFAULT_LEASE_DURATION_SECONDS,
      renewTime: microTime(now),
    };
    try {
      return await this.coordination.patchNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE, body: { spec } }, mergePatch());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE }, spec };
    try {
      return await this.coordination.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: body as unknown as V1Lease });
    } catch (error) {
      if (isConflict(error)) return this.coordination.patchNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE, body: { spec } }, mergePatch());
      if (!isNotFound(error)) throw error;
    }
    // the namespace itself is missing (a fresh API server): create it, then the lease
    await this.core.createNamespace({ body: { metadata: { name: NODE_LEASE_NAMESPACE } } }).catch((error: unknown) => {
      if (!isConflict(error)) throw error;
    });
    return this.coordination.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: body as unknown as V1Lease });
  }

  /** A TokenRequest for a ServiceAccount (the edge's pod tokens); the token and its expiry. */
  async requestServiceAccountToken(namespace: string, name: string, body: Json): Promise<{ token: string; expirationTimestamp: string }> {
    const answer = await this.core.createNamespacedServiceAccountToken({ namespace, name, body: body as unknown as AuthenticationV1TokenRequest });
    const expires = answer.status?.expirationTimestamp as unknown;
    const expirationTimestamp = expires instanceof Date ? expires.toISOString() : String(expires);
    return { token: answer.status?.token ?? '', expirationTimestamp };
  }

  readPod(namespace: string, name: string): Promise<V1Pod> {
    return this.core.readNamespacedPod({ namespace, name });
  }

  /** Finishes a graceful deletion the edge has carried out (grace 0, only that very pod by UID). */
  async finishPodDeletion(namespace: string, name: string, uid: string | undefined): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0, ...(uid === undefined ? {} : { body: { preconditions: { uid } } }) });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  patchPodStatus(namespace: string, name: string, status: Json): Promise<V1Pod> {
    return this.core.patchNamespacedPodStatus({ namespace, name, body: { status } }, mergePatch());
  }

  /** Creates the event; an event that exists already (a resend) counts as done. */
  async createEvent(namespace: string, event: Json): Promise<void> {
    try {
      await this.core.createNamespacedEvent({ namespace, body: event as unknown as CoreV1Event });
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}
