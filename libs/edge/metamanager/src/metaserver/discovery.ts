// Discovery documents, just enough for kubectl and client libraries to find the core/v1 types
// MetaServer serves. Aggregated discovery is not offered: clients fall back to these legacy forms.
import { CORE_RESOURCES } from '../kube-object';

const VERBS = ['get', 'list', 'watch'];

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-kedge-metaserver',
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch}`,
  };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(): Record<string, unknown> {
  // no API groups: only core/v1 objects are pushed to the edge
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

export function coreResourceList(): Record<string, unknown> {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'v1',
    resources: CORE_RESOURCES.map((resource) => ({
      name: resource.plural,
      singularName: resource.singular,
      namespaced: resource.namespaced,
      kind: resource.kind,
      verbs: VERBS,
      ...(resource.shortNames.length > 0 ? { shortNames: resource.shortNames } : {}),
      ...(resource.type === 'pod' || resource.type === 'service' ? { categories: ['all'] } : {}),
    })),
  };
}

export function rootPaths(): Record<string, unknown> {
  return { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/readyz', '/version'] };
}
