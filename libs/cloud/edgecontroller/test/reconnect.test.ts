// Resync by inventory: an edge that was away converges exactly on reconnect and is sent only what
// changed meanwhile.
import { mergePatch } from '@kedge/kube-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newMessage } from '@kedge/protocol';
import { Cleanup, createTestPki, waitFor, type TestPki } from '@kedge/testkit';
import { dialHub } from '@kedge/transport';
import { startCloud } from './fixtures/cloud';
import { createConfigMap, createNamespace, createSecret, describeStore, holdsExactly, podSpec, registerNode } from './fixtures/kube';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

describe('edgecontroller sync - reconnect', () => {
  it('an edge that reconnects with its inventory converges exactly and receives only what changed', async () => {
    const cloud = await startCloud(pki, cleanup);
    const { core } = cloud;
    const edgeA = await cloud.edge('edge-a');
    const edgeB = await cloud.edge('edge-b');
    await registerNode(edgeA);
    await registerNode(edgeB);
    await createNamespace(core, 'apps');
    for (const name of ['cm-keep', 'cm-update', 'cm-only-del', 'cm-move-only']) await createConfigMap(core, 'apps', name);
    for (const name of ['sec-keep', 'sec-del']) await createSecret(core, 'apps', name);
    const pods = [
      podSpec('p-keep', 'apps', 'edge-a', { envConfigMap: 'cm-keep', volumeSecret: 'sec-keep' }),
      podSpec('p-upd', 'apps', 'edge-a', { volumeConfigMap: 'cm-update', envSecret: 'sec-del' }),
      podSpec('p-del', 'apps', 'edge-a', { envFromConfigMap: 'cm-only-del' }),
      podSpec('p-move', 'apps', 'edge-a', { projected: { configMap: 'cm-move-only' } }),
    ];
    for (const pod of pods) await core.createNamespacedPod({ namespace: 'apps', body: pod });
    const before = [
      'node/null/edge-a',
      'pod/apps/p-keep',
      'pod/apps/p-upd',
      'pod/apps/p-del',
      'pod/apps/p-move',
      'configmap/apps/cm-keep',
      'configmap/apps/cm-update',
      'configmap/apps/cm-only-del',
      'configmap/apps/cm-move-only',
      'secret/apps/sec-keep',
      'secret/apps/sec-del',
    ];
    await waitFor(() => holdsExactly(edgeA, core, before), 'edge-a to sync before going away', { onTimeout: () => describeStore(edgeA) });

    await edgeA.disconnect();
    await waitFor(() => !cloud.hub.isConnected('edge-a') && !cloud.controller.stats().nodes.some((n) => n.node === 'edge-a'), 'the cloud to drop edge-a');

    // while edge-a is away: create, update, delete, move
    await createConfigMap(core, 'apps', 'cm-new');
    await createSecret(core, 'apps', 'sec-new');
    await core.createNamespacedPod({ namespace: 'apps', body: podSpec('p-new', 'apps', 'edge-a', { envConfigMap: 'cm-new', imagePullSecret: 'sec-new' }) });
    await core.patchNamespacedPod({ namespace: 'apps', name: 'p-upd', body: { metadata: { labels: { version: '2' } } } }, mergePatch());
    await core.patchNamespacedConfigMap({ namespace: 'apps', name: 'cm-update', body: { data: { k: 'v2' } } }, mergePatch());
    await core.deleteNamespacedSecret({ namespace: 'apps', name: 'sec-del' });
    await core.deleteNamespacedPod({ namespace: 'apps', name: 'p-del', gracePeriodSeconds: 0 });
    await core.deleteNamespacedPod({ namespace: 'apps', name: 'p-move', gracePeriodSeconds: 0 });
    await core.createNamespacedPod({ namespace: 'apps', body: podSpec('p-move', 'apps', 'edge-b', { projected: { configMap: 'cm-move-only' } }) });
    await waitFor(() => edgeB.store.has('pod/apps/p-move'), 'the moved pod to reach edge-b');

    await edgeA.connect();
    const after = [
      'node/null/edge-a',
      'pod/apps/p-keep',
      'pod/apps/p-upd',
      'pod/apps/p-new',
      'configmap/apps/cm-keep',
      'configmap/apps/cm-update',
      'configmap/apps/cm-new',
      'secret/apps/sec-keep',
      'secret/apps/sec-new',
    ];
    await waitFor(() => holdsExactly(edgeA, core, after), 'edge-a to converge after reconnecting', { onTimeout: () => describeStore(edgeA) });

    const sentOnReconnect = edgeA.receivedOn(2).map((m) => `${m.operation} ${m.key}`).sort();
    expect(sentOnReconnect).toEqual(
      [
        'insert pod/apps/p-new',
        'insert configmap/apps/cm-new',
        'insert secret/apps/sec-new',
        'update pod/apps/p-upd',
        'update configmap/apps/cm-update',
        'delete pod/apps/p-del',
        'delete pod/apps/p-move',
        'delete configmap/apps/cm-only-del',
        'delete configmap/apps/cm-move-only',
        'delete secret/apps/sec-del',
      ].sort(),
    );
    expect(await holdsExactly(edgeB, core, ['node/null/edge-b', 'pod/apps/p-move', 'configmap/apps/cm-move-only'])).toBe(true);
  });

  it('nothing is sent to a connected edge before its inventory arrives', async () => {
    const cloud = await startCloud(pki, cleanup);
    const edge = await cloud.edge('edge-a');
    await registerNode(edge);
    await createNamespace(cloud.core, 'apps');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    await waitFor(() => edge.store.has('pod/apps/p1'), 'the pod to reach the edge');
    await edge.disconnect();
    await waitFor(() => !cloud.hub.isConnected('edge-a'), 'the cloud to drop edge-a');

    // connect without sending an inventory: the cloud must stay silent, even while things change
    const silent = await dialHub('websocket', { url: cloud.hubUrl, tls: await pki.node('edge-a'), nodeName: 'edge-a', handshakeTimeoutMs: 10_000 });
    cleanup.add(() => silent.close('test over'));
    const arrived: string[] = [];
    silent.on('message', (m) => arrived.push(m.route.resource));
    await waitFor(() => cloud.controller.stats().nodes.some((n) => n.node === 'edge-a' && n.phase === 'awaiting-inventory'), 'the session to wait for an inventory');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p2', 'apps', 'edge-a') });
    await waitFor(async () => (await cloud.core.readNamespacedPod({ namespace: 'apps', name: 'p2' })).metadata?.uid !== undefined, 'p2 to exist');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(arrived).toEqual([]);
    expect(cloud.controller.stats().nodes.find((n) => n.node === 'edge-a')?.sent).toBe(0);

    // the inventory (node and p1 at the versions the edge holds) releases exactly the difference
    const inventory = [...edge.store.values()].map(({ type, namespace, name, resourceVersion }) => ({ type, namespace, name, resourceVersion }));
    await silent.send(newMessage({ source: 'metamanager', group: 'resource', operation: 'query', resource: 'null/inventory/edge-a', content: { items: inventory } }));
    await waitFor(() => arrived.includes('apps/pod/p2'), 'p2 to be sent after the inventory');
    expect(arrived.filter((resource) => resource !== 'null/inventory/edge-a')).toEqual(['apps/pod/p2']);
  });
});
