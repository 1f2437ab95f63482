// Cloud → edge sync with the real API server, CloudHub and WebSocket edges: each edge ends with
// exactly its own objects, and never sees another node's secrets.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, createTestPki, waitFor, type TestPki } from '@kedge/testkit';
import { startCloud } from './fixtures/cloud';
import { createConfigMap, createNamespace, createSecret, describeStore, holdsExactly, podSpec, registerNode, type PodRefs } from './fixtures/kube';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

function refsFor(side: 'a' | 'b', i: number): PodRefs {
  switch (i % 5) {
    case 0:
      return { envConfigMap: 'shared-config' };
    case 1:
      return { envSecret: `secret-${side}` };
    case 2:
      return { volumeConfigMap: `config-${side}`, volumeSecret: 'shared-secret' };
    case 3:
      return { projected: { configMap: `config-${side}`, secret: `secret-${side}` } };
    default:
      return side === 'a' ? { imagePullSecret: 'pull-a', envFromConfigMap: 'shared-config' } : { envFromConfigMap: 'shared-config' };
  }
}

describe('edgecontroller sync - initial sync', () => {
  it('50 pods over 2 nodes: each edge ends with exactly its own pods, referenced configmaps and secrets, node and services', async () => {
    const cloud = await startCloud(pki, cleanup);
    const { core } = cloud;
    const edgeA = await cloud.edge('edge-a');
    const edgeB = await cloud.edge('edge-b');
    await registerNode(edgeA);
    await registerNode(edgeB);

    await createNamespace(core, 'apps');
    await createNamespace(core, 'other');
    for (const name of ['shared-config', 'config-a', 'config-b', 'config-unused']) await createConfigMap(core, 'apps', name);
    for (const name of ['shared-secret', 'secret-a', 'secret-b', 'secret-unused', 'pull-a']) await createSecret(core, 'apps', name);
    await core.createNamespacedService({ namespace: 'apps', body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } } });
    await core.createNamespacedEndpoints({ namespace: 'apps', body: { metadata: { name: 'web' }, subsets: [{ addresses: [{ ip: '10.1.0.5' }], ports: [{ port: 80 }] }] } });
    await core.createNamespacedService({ namespace: 'other', body: { metadata: { name: 'hidden' }, spec: { ports: [{ port: 81 }] } } });
    await core.createNamespacedPod({ namespace: 'other', body: podSpec('cloud-pod', 'other', 'cloud-node-1', { envSecret: 'secret-unused' }) });
    await Promise.all(
      Array.from({ length: 50 }, (_, n) => {
        const side = n % 2 === 0 ? 'a' : 'b';
        const i = Math.floor(n / 2);
        return core.createNamespacedPod({ namespace: 'apps', body: podSpec(`pod-${side}-${i}`, 'apps', `edge-${side}`, refsFor(side, i)) });
      }),
    );

    const expected = (side: 'a' | 'b'): string[] => [
      `node/null/edge-${side}`,
      ...Array.from({ length: 25 }, (_, i) => `pod/apps/pod-${side}-${i}`),
      'configmap/apps/shared-config',
      `configmap/apps/config-${side}`,
      'secret/apps/shared-secret',
      `secret/apps/secret-${side}`,
      ...(side === 'a' ? ['secret/apps/pull-a'] : []),
      'service/apps/web',
      'endpoints/apps/web',
    ];
    await waitFor(() => holdsExactly(edgeA, core, expected('a')), 'edge-a to hold exactly its objects', { onTimeout: () => describeStore(edgeA) });
    await waitFor(() => holdsExactly(edgeB, core, expected('b')), 'edge-b to hold exactly its objects', { onTimeout: () => describeStore(edgeB) });

    // node A never received anything of node B's, not even transiently
    expect(edgeA.received.filter((m) => /secret-b|config-b|pod-b-|edge-b/.test(m.key))).toEqual([]);
    expect(edgeB.received.filter((m) => /secret-a|config-a|pull-a|pod-a-|edge-a/.test(m.key))).toEqual([]);
    // objects that did not change were sent exactly once, as inserts
    for (const edge of [edgeA, edgeB]) {
      const nonNode = edge.received.filter((m) => !m.key.startsWith('node/'));
      expect(nonNode.every((m) => m.operation === 'insert')).toBe(true);
      expect(new Set(nonNode.map((m) => m.key)).size).toBe(nonNode.length);
    }
    const stats = cloud.controller.stats();
    expect(stats.ready).toBe(true);
    expect(stats.nodes.map((n) => n.node).sort()).toEqual(['edge-a', 'edge-b']);
  });
});
