// The desired set of objects per edge node, computed from the informer caches:
//   - the node's own Node (only edge nodes: the node cache holds nodes labelled as edge nodes);
//   - pods with spec.nodeName = node;
//   - configmaps and secrets those pods reference (references.ts);
//   - services and endpoints of every namespace where the node has a pod (optional).
// A node whose Node object is missing (not registered, deleted, or not an edge node) wants nothing.
// It also keeps the reverse indexes that route a configmap/secret/service event to the nodes it
// may concern, so an event costs the nodes it touches, not every node.
import type { ObjectCache } from '@kubernetes/client-node';
import { keyOfObject, objectKey, parseResourceVersion, resourceVersionOf, type SyncType } from './objects';
import type { KubeObject } from '@kedge/kube-core';
import { podReferences, type PodReferences } from './references';

export interface DesiredObject {
  type: SyncType;
  resourceVersion: bigint;
  object: KubeObject;
}

export interface DesiredSources {
  nodes: ObjectCache<KubeObject>;
  configmaps: ObjectCache<KubeObject>;
  secrets: ObjectCache<KubeObject>;
  services?: ObjectCache<KubeObject>;
  endpoints?: ObjectCache<KubeObject>;
}

interface Interest {
  refs: Set<string>;
  namespaces: Set<string>;
}

const NO_INTEREST: Interest = { refs: new Set(), namespaces: new Set() };

function addToIndex(index: Map<string, Set<string>>, key: string, node: string): void {
  let nodes = index.get(key);
  if (nodes === undefined) index.set(key, (nodes = new Set()));
  nodes.add(node);
}

function removeFromIndex(index: Map<string, Set<string>>, key: string, node: string): void {
  const nodes = index.get(key);
  if (nodes === undefined) return;
  nodes.delete(node);
  if (nodes.size === 0) index.delete(key);
}

export class DesiredState {
  private readonly podNode = new Map<string, string>();
  private readonly podsByNode = new Map<string, Map<string, KubeObject>>();
  private readonly interest = new Map<string, Interest>();
  private readonly nodesByRef = new Map<string, Set<string>>();
  private readonly nodesByNamespace = new Map<string, Set<string>>();
  private readonly referenceCache = new WeakMap<KubeObject, PodReferences>();

  constructor(private readonly sources: DesiredSources) {}

  /** Records a pod event; returns the nodes whose desired set it may change (old and new node). */
  applyPod(event: 'add' | 'update' | 'delete', pod: KubeObject): string[] {
    const key = keyOfObject('pod', pod);
    const previous = this.podNode.get(key);
    const spec = pod['spec'] as { nodeName?: unknown } | undefined;
    const nodeName = event === 'delete' || typeof spec?.nodeName !== 'string' || spec.nodeName === '' ? undefined : spec.nodeName;
    if (previous !== undefined && previous !== nodeName) {
      const pods = this.podsByNode.get(previous);
      pods?.delete(key);
      if (pods?.size === 0) this.podsByNode.delete(previous);
      this.podNode.delete(key);
    }
    if (nodeName !== undefined) {
      let pods = this.podsByNode.get(nodeName);
      if (pods === undefined) this.podsByNode.set(nodeName, (pods = new Map()));
      pods.set(key, pod);
      this.podNode.set(key, nodeName);
    }
    return [...new Set([previous, nodeName])].filter((n): n is string => n !== undefined);
  }

  /** Nodes whose last computed desired set referenced this configmap or secret (present or not). */
  nodesReferencing(type: 'configmap' | 'secret', namespace: string, name: string): string[] {
    return [...(this.nodesByRef.get(objectKey(type, namespace, name)) ?? [])];
  }

  /** Nodes that had a pod in this namespace when their desired set was last computed. */
  nodesInNamespace(namespace: string): string[] {
    return [...(this.nodesByNamespace.get(namespace) ?? [])];
  }

  podsOf(node: string): IterableIterator<KubeObject> {
    return (this.podsByNode.get(node) ?? new Map<string, KubeObject>()).values();
  }

  /** Whether one of the node's pods references the configmap/secret (now, from the pod cache). */
  isReferencedBy(node: string, type: 'configmap' | 'secret', namespace: string, name: string): boolean {
    for (const pod of this.podsOf(node)) {
      if (pod.metadata?.namespace !== namespace) continue;
      const refs = this.referencesOf(pod);
      if ((type === 'configmap' ? refs.configMaps : refs.secrets).has(name)) return true;
    }
    return false;
  }

  /** Computes the node's desired set and refreshes the indexes that route events to it. */
  compute(node: string): Map<string, DesiredObject> {
    const desired = new Map<string, DesiredObject>();
    const put = (type: SyncType, object: KubeObject): void => {
      desired.set(keyOfObject(type, object), { type, object, resourceVersion: parseResourceVersion(resourceVersionOf(object)) });
    };
    const nodeObject = this.sources.nodes.get(node);
    if (nodeObject === undefined) {
      this.setInterest(node, NO_INTEREST);
      return desired;
    }
    put('node', nodeObject);
    const interest: Interest = { refs: new Set(), namespaces: new Set() };
    for (const pod of this.podsOf(node)) {
      put('pod', pod);
      const namespace = pod.metadata?.namespace ?? 'default';
      interest.namespaces.add(namespace);
      const refs = this.referencesOf(pod);
      for (const name of refs.configMaps) {
        interest.refs.add(objectKey('configmap', namespace, name));
        const configMap = this.sources.configmaps.get(name, namespace);
        if (configMap !== undefined) put('configmap', configMap);
      }
      for (const name of refs.secrets) {
        interest.refs.add(objectKey('secret', namespace, name));
        const secret = this.sources.secrets.get(name, namespace);
        if (secret !== undefined) put('secret', secret);
      }
    }
    for (const namespace of interest.namespaces) {
      for (const service of this.sources.services?.list(namespace) ?? []) put('service', service);
      for (const endpoints of this.sources.endpoints?.list(namespace) ?? []) put('endpoints', endpoints);
    }
    this.setInterest(node, interest);
    return desired;
  }

  /** Drops the node's indexes (its session ended; nothing is sent to it until it comes back). */
  forget(node: string): void {
    this.setInterest(node, NO_INTEREST);
  }

  private referencesOf(pod: KubeObject): PodReferences {
    let refs = this.referenceCache.get(pod);
    if (refs === undefined) this.referenceCache.set(pod, (refs = podReferences(pod)));
    return refs;
  }

  private setInterest(node: string, next: Interest): void {
    const previous = this.interest.get(node) ?? NO_INTEREST;
    for (const key of previous.refs) if (!next.refs.has(key)) removeFromIndex(this.nodesByRef, key, node);
    for (const key of next.refs) if (!previous.refs.has(key)) addToIndex(this.nodesByRef, key, node);
    for (const ns of previous.namespaces) if (!next.namespaces.has(ns)) removeFromIndex(this.nodesByNamespace, ns, node);
    for (const ns of next.namespaces) if (!previous.namespaces.has(ns)) addToIndex(this.nodesByNamespace, ns, node);
    if (next === NO_INTEREST) this.interest.delete(node);
    else this.interest.set(node, next);
  }
}
