// Discovery documents, in the legacy per-group form (/api, /apis, /apis/<g>, .../<v>) and the
// aggregated form kubectl 1.32 asks for first (apidiscovery.k8s.io/v2 APIGroupDiscoveryList), both
// built from the live ResourceCatalog so CRDs appear and vanish as they are established and deleted.
import type { ResourceCatalog, ResourceType, SubresourceName } from '../resources';
import { groupVersionKey } from '../resources';

const SUBRESOURCE_VERBS: Record<SubresourceName, string[]> = {
  status: ['get', 'patch', 'update'],
  log: ['get'],
  exec: ['create', 'get'],
  attach: ['create', 'get'],
  portforward: ['create', 'get'],
  finalize: ['update'],
  token: ['create'],
  binding: ['create'],
  eviction: ['create'],
  ephemeralcontainers: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  proxy: ['create', 'delete', 'get', 'patch', 'update'],
};

const SUBRESOURCE_KINDS: Partial<Record<SubresourceName, string>> = {
  exec: 'PodExecOptions',
  attach: 'PodAttachOptions',
  portforward: 'PodPortForwardOptions',
  token: 'TokenRequest',
  binding: 'Binding',
  eviction: 'Eviction',
  scale: 'Scale',
  proxy: 'NodeProxyOptions',
};

/** Subresources answered in another group's kind: the Scale of apps workloads is autoscaling/v1, a TokenRequest authentication.k8s.io/v1. */
const SUBRESOURCE_GROUP_VERSIONS: Partial<Record<SubresourceName, { group: string; version: string }>> = {
  scale: { group: 'autoscaling', version: 'v1' },
  token: { group: 'authentication.k8s.io', version: 'v1' },
  // kubectl drain reads this to choose the Eviction version it sends (policy/v1 since Kubernetes 1.22)
  eviction: { group: 'policy', version: 'v1' },
};

function sortedVerbs(type: ResourceType): string[] {
  return [...type.verbs].sort();
}

export function legacyVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(catalog: ResourceCatalog, group: string): Record<string, unknown> | undefined {
  const entry = catalog.groups().find((candidate) => candidate.group === group);
  if (entry === undefined || group === '') return undefined;
  const versions = entry.versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function groupList(catalog: ResourceCatalog): Record<string, unknown> {
  const groups = catalog
    .groups()
    .filter((entry) => entry.group !== '')
    .map((entry) => groupEntry(catalog, entry.group));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(catalog: ResourceCatalog, group: string): Record<string, unknown> | undefined {
  const entry = groupEntry(catalog, group);
  return entry === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...entry };
}

export function resourceList(catalog: ResourceCatalog, group: string, version: string): Record<string, unknown> | undefined {
  const types = catalog.resourcesOf(group, version);
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const type of types) {
    const resource: Record<string, unknown> = {
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: sortedVerbs(type),
    };
    if (type.shortNames.length > 0) resource['shortNames'] = [...type.shortNames];
    if (type.categories.length > 0) resource['categories'] = [...type.categories];
    resources.push(resource);
    for (const subresource of type.subresources) {
      resources.push({
        name: `${type.plural}/${subresource}`,
        singularName: '',
        namespaced: type.namespaced,
        ...SUBRESOURCE_GROUP_VERSIONS[subresource],
        kind: SUBRESOURCE_KINDS[subresource] ?? type.kind,
        verbs: SUBRESOURCE_VERBS[subresource],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersionKey(group, version), resources };
}

function discoveryResource(type: ResourceType): Record<string, unknown> {
  const resource: Record<string, unknown> = {
    resource: type.plural,
    responseKind: { group: type.group, version: type.version, kind: type.kind },
    scope: type.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: type.singular,
    verbs: sortedVerbs(type),
  };
  if (type.shortNames.length > 0) resource['shortNames'] = [...type.shortNames];
  if (type.categories.length > 0) resource['categories'] = [...type.categories];
  if (type.subresources.length > 0) {
    resource['subresources'] = type.subresources.map((subresource) => ({
      subresource,
      responseKind: { group: type.group, version: type.version, ...SUBRESOURCE_GROUP_VERSIONS[subresource], kind: SUBRESOURCE_KINDS[subresource] ?? type.kind },
      verbs: SUBRESOURCE_VERBS[subresource],
    }));
  }
  return resource;
}

/** /api (core only) or /apis (every other group) as one APIGroupDiscoveryList. */
export function aggregatedDiscovery(catalog: ResourceCatalog, scope: 'core' | 'groups', version: 'v2' | 'v2beta1'): Record<string, unknown> {
  const items = catalog
    .groups()
    .filter((entry) => (scope === 'core' ? entry.group === '' : entry.group !== ''))
    .map((entry) => ({
      metadata: { name: entry.group, creationTimestamp: null },
      versions: entry.versions.map((groupVersion) => ({
        version: groupVersion,
        resources: catalog.resourcesOf(entry.group, groupVersion).map(discoveryResource),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

export function aggregatedDiscoveryContentType(version: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}
