import type { ObjectCache } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DesiredState } from '../../src/desired-state';
import type { KubeObject } from '@kedge/kube-core';

function cache(objects: KubeObject[]): ObjectCache<KubeObject> & { items: KubeObject[] } {
  return {
    items: objects,
    get(name, namespace) {
      return this.items.find((o) => o.metadata?.name === name && (o.metadata?.namespace ?? '') === (namespace ?? ''));
    },
    list(namespace) {
      return this.items.filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
    },
  };
}

const obj = (name: string, namespace: string | undefined, resourceVersion: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, ...(namespace === undefined ? {} : { namespace }), resourceVersion },
  ...extra,
});
const pod = (name: string, node: string, secret?: string) =>
  obj(name, 'apps', '10', { spec: { nodeName: node, containers: [{ name: 'c' }], volumes: secret ? [{ secret: { secretName: secret } }] : [] } });

function setup() {
  const sources = {
    nodes: cache([obj('n1', undefined, '1'), obj('n2', undefined, '2')]),
    configmaps: cache([]),
    secrets: cache([obj('s1', 'apps', '3'), obj('s2', 'apps', '4')]),
    services: cache([obj('web', 'apps', '5'), obj('db', 'other', '6')]),
    endpoints: cache([]),
  };
  return { sources, desired: new DesiredState(sources) };
}

describe('desired state - per node', () => {
  it('holds the node, its pods, their secrets and the services of their namespaces', () => {
    const { desired } = setup();
    desired.applyPod('add', pod('p1', 'n1', 's1'));
    desired.applyPod('add', pod('p2', 'n2', 's2'));
    expect([...desired.compute('n1').keys()].sort()).toEqual(['node/null/n1', 'pod/apps/p1', 'secret/apps/s1', 'service/apps/web']);
    expect(desired.compute('n1').get('secret/apps/s1')?.resourceVersion).toBe(3n);
  });

  it('routes events to the nodes they concern and follows a pod to its new node', () => {
    const { desired } = setup();
    expect(desired.applyPod('add', pod('p1', 'n1', 's1'))).toEqual(['n1']);
    desired.compute('n1');
    expect(desired.nodesReferencing('secret', 'apps', 's1')).toEqual(['n1']);
    expect(desired.nodesReferencing('secret', 'apps', 'missing')).toEqual([]);
    expect(desired.nodesInNamespace('apps')).toEqual(['n1']);
    expect(desired.applyPod('update', pod('p1', 'n2', 's1'))).toEqual(['n1', 'n2']);
    expect([...desired.compute('n1').keys()]).toEqual(['node/null/n1']);
    expect(desired.nodesReferencing('secret', 'apps', 's1')).toEqual([]);
    expect(desired.applyPod('delete', pod('p1', 'n2', 's1'))).toEqual(['n2']);
    expect([...desired.compute('n2').keys()]).toEqual(['node/null/n2']);
  });

  it('a node without its Node object (unregistered, deleted, not an edge node) wants nothing', () => {
    const { desired, sources } = setup();
    desired.applyPod('add', pod('p1', 'n1', 's1'));
    sources.nodes.items = [];
    expect(desired.compute('n1').size).toBe(0);
  });

  it('references count only in the pod\'s own namespace', () => {
    const { desired } = setup();
    desired.applyPod('add', pod('p1', 'n1', 's1'));
    expect(desired.isReferencedBy('n1', 'secret', 'apps', 's1')).toBe(true);
    expect(desired.isReferencedBy('n1', 'secret', 'other', 's1')).toBe(false);
    expect(desired.isReferencedBy('n2', 'secret', 'apps', 's1')).toBe(false);
  });
});
