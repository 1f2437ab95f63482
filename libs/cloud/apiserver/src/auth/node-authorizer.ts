// What a node identity may do, after Kubernetes' Node authorizer and NodeRestriction admission: its own
// Node (and status), pods bound to it (read, status, delete), the configmaps, secrets and service
// accounts those pods use (read), its own Lease in kube-node-lease, events, and reading services; it
// creates only mirror pods bound to itself that reference no other API object.
// Lists and watches must be scoped by a field selector, as the kubelet scopes them.
import { arrayAt, isRecord, pinnedFieldValue, recordAt, stringAt, type FieldRequirement, type KubeObject } from '@kedge/kube-core';
import type { ResourceStore } from '../registry';
import { MIRROR_POD_ANNOTATION, type ResourceType } from '../resources';
import type { RequestVerb } from '../routing';

export interface RequestAttributes {
  verb: RequestVerb;
  type: ResourceType;
  subresource: string | undefined;
  namespace: string | undefined;
  name: string | undefined;
  fieldSelector: readonly FieldRequirement[];
}

/** Allowed, or the reason a node may not (the end of a Forbidden message). */
export type NodeDecision = { allowed: true } | { allowed: false; reason: string };

const ALLOW: NodeDecision = { allowed: true };
const deny = (reason: string): NodeDecision => ({ allowed: false, reason });

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const READ_VERBS = new Set<RequestVerb>(['get', 'list', 'watch']);

function resourceIs(type: ResourceType, group: string, plural: string): boolean {
  return type.group === group && type.plural === plural;
}

/** Names of the objects of `kind` a pod spec refers to. */
export function podReferences(pod: KubeObject, kind: 'configmaps' | 'secrets' | 'serviceaccounts'): Set<string> {
  const names = new Set<string>();
  const add = (value: unknown): void => {
    if (typeof value === 'string' && value !== '') names.add(value);
  };
  const spec = recordAt(pod, ['spec']) ?? {};
  if (kind === 'serviceaccounts') {
    add(spec['serviceAccountName'] ?? 'default');
    return names;
  }
  const refKey = kind === 'configmaps' ? 'configMap' : 'secret';
  for (const volume of arrayAt(spec, ['volumes']).filter(isRecord)) {
    if (kind === 'configmaps') add(stringAt(volume, ['configMap', 'name']));
    else add(stringAt(volume, ['secret', 'secretName']));
    for (const source of arrayAt(volume, ['projected', 'sources']).filter(isRecord)) add(stringAt(source, [refKey, 'name']));
  }
  const containers = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((field) => arrayAt(spec, [field]).filter(isRecord));
  for (const container of containers) {
    for (const env of arrayAt(container, ['env']).filter(isRecord)) {
      add(stringAt(env, ['valueFrom', kind === 'configmaps' ? 'configMapKeyRef' : 'secretKeyRef', 'name']));
    }
    for (const source of arrayAt(container, ['envFrom']).filter(isRecord)) {
      add(stringAt(source, [kind === 'configmaps' ? 'configMapRef' : 'secretRef', 'name']));
    }
  }
  if (kind === 'secrets') for (const secret of arrayAt(spec, ['imagePullSecrets']).filter(isRecord)) add(secret['name']);
  return names;
}

// volume plugins that name a Secret (upstream's VisitPodSecretNames), besides secret volumes and projections
const VOLUME_SECRET_REFERENCES: readonly (readonly string[])[] = [
  ['azureFile', 'secretName'],
  ['cephfs', 'secretRef', 'name'],
  ['cinder', 'secretRef', 'name'],
  ['flexVolume', 'secretRef', 'name'],
  ['iscsi', 'secretRef', 'name'],
  ['rbd', 'secretRef', 'name'],
  ['scaleIO', 'secretRef', 'name'],
  ['storageos', 'secretRef', 'name'],
  ['csi', 'nodePublishSecretRef', 'name'],
];

/** What API object a pod spec references, worded to end "can not create pods that …"; undefined for none. */
export function mirrorPodReference(pod: KubeObject): string | undefined {
  const spec = recordAt(pod, ['spec']) ?? {};
  const volumes = arrayAt(spec, ['volumes']).filter(isRecord);
  const named = (value: unknown): boolean => typeof value === 'string' && value !== '';
  if (named(spec['serviceAccountName']) || named(spec['serviceAccount'])) return 'reference a service account';
  const sources = volumes.flatMap((volume) => arrayAt(volume, ['projected', 'sources']).filter(isRecord));
  if (sources.some((source) => source['serviceAccountToken'] !== undefined)) return 'use service account tokens (projected serviceAccountToken)';
  const secretInVolume = volumes.some((volume) => VOLUME_SECRET_REFERENCES.some((path) => named(stringAt(volume, [...path]))));
  if (secretInVolume || podReferences(pod, 'secrets').size > 0) return 'reference secrets';
  if (podReferences(pod, 'configmaps').size > 0) return 'reference configmaps';
  if (sources.some((source) => source['clusterTrustBundle'] !== undefined)) return 'use clustertrustbundles';
  if (sources.some((source) => source['podCertificate'] !== undefined)) return 'use pod certificates';
  if (volumes.some((volume) => volume['persistentVolumeClaim'] !== undefined)) return 'reference persistentvolumeclaims';
  if (volumes.some((volume) => volume['ephemeral'] !== undefined)) return 'use ephemeral volumes (they create persistentvolumeclaims)';
  if (arrayAt(spec, ['resourceClaims']).length > 0) return 'reference resourceclaims';
  return undefined;
}

export class NodeAuthorizer {
  constructor(private readonly store: ResourceStore) {}

  decide(node: string, request: RequestAttributes): NodeDecision {
    const { type, verb } = request;
    if (resourceIs(type, '', 'nodes')) return this.ownNode(node, request);
    if (resourceIs(type, '', 'pods')) return this.boundPod(node, request);
    if (resourceIs(type, '', 'configmaps') || resourceIs(type, '', 'secrets') || resourceIs(type, '', 'serviceaccounts')) {
      return this.referencedObject(node, request, type.plural as 'configmaps' | 'secrets' | 'serviceaccounts');
    }
    if (resourceIs(type, 'coordination.k8s.io', 'leases')) {
      if (request.namespace !== NODE_LEASE_NAMESPACE) return deny(`node '${node}' can only access its Lease in ${NODE_LEASE_NAMESPACE}`);
      if (verb === 'create') return ALLOW; // the name is checked on the body by admitNodeWrite
      return request.name === node ? ALLOW : deny(`node '${node}' can only access its own Lease`);
    }
    if (resourceIs(type, '', 'events') || resourceIs(type, 'events.k8s.io', 'events')) {
      return verb === 'create' || verb === 'update' || verb === 'patch' ? ALLOW : deny('nodes can only create, update and patch events');
    }
    if ((resourceIs(type, '', 'services') || resourceIs(type, '', 'endpoints')) && READ_VERBS.has(verb)) return ALLOW;
    return deny(`no relationship found between node '${node}' and this object`);
  }

  /** NodeRestriction: what a node creates must be its own (its Node, its Lease, mirror pods bound to it). */
  admitCreate(node: string, type: ResourceType, object: KubeObject): NodeDecision {
    if (resourceIs(type, '', 'nodes') && object.metadata.name !== node) return deny(`node '${node}' can only create its own Node object`);
    if (resourceIs(type, 'coordination.k8s.io', 'leases') && object.metadata.name !== node) return deny(`node '${node}' can only create its own Lease`);
    if (resourceIs(type, '', 'pods')) return this.admitMirrorPod(node, object);
    return ALLOW;
  }

  /**
   * NodeRestriction's pod rule: a node creates only mirror pods of its static pods, bound to itself,
   * owned by its Node if owned at all, and referencing no other API object, so a stolen node credential
   * can neither run work on another node nor get a secret, configmap or token delivered by naming it.
   */
  private admitMirrorPod(node: string, pod: KubeObject): NodeDecision {
    if (!Object.hasOwn(pod.metadata.annotations ?? {}, MIRROR_POD_ANNOTATION)) {
      return deny(`pod does not have "${MIRROR_POD_ANNOTATION}" annotation, node '${node}' can only create mirror pods`);
    }
    if (stringAt(pod, ['spec', 'nodeName']) !== node) return deny(`node '${node}' can only create pods with spec.nodeName set to itself`);
    const owners = pod.metadata.ownerReferences ?? [];
    if (owners.length > 1) return deny(`node '${node}' can only create pods with a single owner reference set to itself`);
    const [owner] = owners;
    if (owner !== undefined) {
      if (!isRecord(owner) || owner['apiVersion'] !== 'v1' || owner['kind'] !== 'Node' || owner['name'] !== node) {
        return deny(`node '${node}' can only create pods with an owner reference set to itself`);
      }
      if (owner['controller'] !== true) return deny(`node '${node}' can only create pods with a controller owner reference set to itself`);
      if (owner['blockOwnerDeletion'] === true) return deny(`node '${node}' must not set blockOwnerDeletion on an owner reference`);
      const nodes = this.store.catalog.find('', 'v1', 'nodes');
      const uid = nodes === undefined ? undefined : this.store.find(nodes, undefined, node)?.metadata.uid;
      if (uid === undefined) return deny(`node '${node}' has no Node object to own its mirror pods; register the Node first`);
      if (owner['uid'] !== uid) return deny(`node '${node}' UID mismatch: expected ${uid} got ${String(owner['uid'])}`);
    }
    const reference = mirrorPodReference(pod);
    return reference === undefined ? ALLOW : deny(`node '${node}' can not create pods that ${reference}`);
  }

  /** The extra check a node's list or watch gets per object, on top of its field selector. */
  objectFilter(node: string, request: RequestAttributes): ((object: KubeObject) => boolean) | undefined {
    if (resourceIs(request.type, '', 'pods')) return (object) => stringAt(object, ['spec', 'nodeName']) === node;
    if (resourceIs(request.type, '', 'nodes')) return (object) => object.metadata.name === node;
    return undefined;
  }

  private ownNode(node: string, request: RequestAttributes): NodeDecision {
    // as upstream, a kubelet's own Node gives it no nodes/proxy (nor any other subresource but status)
    if (request.subresource !== undefined && request.subresource !== 'status') {
      return deny(`node '${node}' cannot access nodes/${request.subresource}, even of its own Node`);
    }
    if (request.verb === 'create') return ALLOW; // admitCreate checks the name
    if (request.verb === 'list' || request.verb === 'watch') {
      return pinnedFieldValue(request.fieldSelector, 'metadata.name') === node
        ? ALLOW
        : deny(`node '${node}' can only list and watch its own Node object (fieldSelector metadata.name=${node})`);
    }
    if (request.verb === 'deletecollection') return deny(`node '${node}' cannot delete collections of nodes`);
    return request.name === node ? ALLOW : deny(`node '${node}' cannot access '${request.name ?? ''}', only its own Node object`);
  }

  private boundPod(node: string, request: RequestAttributes): NodeDecision {
    const { verb, subresource } = request;
    if (verb === 'list' || verb === 'watch') {
      return pinnedFieldValue(request.fieldSelector, 'spec.nodeName') === node
        ? ALLOW
        : deny(`can only list and watch pods with field selector spec.nodeName=${node}`);
    }
    if (verb === 'create' && subresource === undefined) return ALLOW; // mirror pods only: admitCreate checks the pod
    const statusWrite = subresource === 'status' && (verb === 'update' || verb === 'patch' || verb === 'get');
    // the ephemeral containers are part of the pod the node runs: it may read them, never add any
    const plain = (subresource === undefined && (verb === 'get' || verb === 'delete')) || (subresource === 'ephemeralcontainers' && verb === 'get');
    if (!statusWrite && !plain) return deny(`node '${node}' may only read, delete and update the status of pods bound to it`);
    const pod = request.name === undefined ? undefined : this.store.find(request.type, request.namespace, request.name);
    if (pod === undefined) return deny(`no relationship found between node '${node}' and this object`);
    return stringAt(pod, ['spec', 'nodeName']) === node ? ALLOW : deny(`no relationship found between node '${node}' and this object`);
  }

  private referencedObject(node: string, request: RequestAttributes, kind: 'configmaps' | 'secrets' | 'serviceaccounts'): NodeDecision {
    if (!READ_VERBS.has(request.verb) || request.subresource !== undefined) {
      return deny(`node '${node}' can only read ${kind} used by its pods`);
    }
    const name = request.verb === 'get' ? request.name : pinnedFieldValue(request.fieldSelector, 'metadata.name');
    if (name === undefined || request.namespace === undefined) {
      return deny(`node '${node}' can only get ${kind}, or list and watch them one at a time with fieldSelector metadata.name=<name>`);
    }
    const pods = this.store.catalog.find('', 'v1', 'pods');
    if (pods === undefined) return deny(`no relationship found between node '${node}' and this object`);
    const bound = this.store.list(pods, request.namespace, {
      labelSelector: [],
      fieldSelector: [{ field: 'spec.nodeName', operator: 'equals', value: node }],
      limit: 0,
    });
    const used = bound.items.some((pod) => podReferences(pod, kind).has(name));
    return used ? ALLOW : deny(`no relationship found between node '${node}' and this object`);
  }
}
