// Edge → cloud: registration, node status, leases, pod status, events and configmap/secret queries,
// each limited to the sending node's own objects.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCloud, type TestCloud } from './fixtures/cloud';
import { createNamespace, createSecret, podSpec, registerNode } from './fixtures/kube';
import { Cleanup, EdgeRequestError, createTestPki, metricValue, waitFor, type SimulatedEdge, type TestPki } from '@kedge/testkit';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EdgeRequestError) return String(error.reply.content);
    throw error;
  }
  throw new Error('expected the cloud to answer with an error');
}

/** PATCH requests on Nodes the API server answered so far */
async function nodePatches(cloud: TestCloud): Promise<number> {
  const metric = await cloud.apiRegistry.getSingleMetric('apiserver_request_total')?.get();
  return (metric?.values ?? []).filter((v) => String(v.labels['verb']).toLowerCase() === 'patch' && v.labels['resource'] === 'nodes').reduce((sum, v) => sum + v.value, 0);
}

async function twoEdges(): Promise<{ cloud: TestCloud; a: SimulatedEdge; b: SimulatedEdge }> {
  const cloud = await startCloud(pki, cleanup);
  const a = await cloud.edge('edge-a');
  const b = await cloud.edge('edge-b');
  await registerNode(a);
  await registerNode(b);
  await createNamespace(cloud.core, 'apps');
  return { cloud, a, b };
}

describe('edgecontroller upstream - node', () => {
  it('registration creates the Node with the edge role label, autonomy annotation, addresses, capacity and nodeInfo', async () => {
    const cloud = await startCloud(pki, cleanup);
    const edge = await cloud.edge('edge-a');
    const answer = (await registerNode(edge, { labels: { zone: 'factory-1' } })) as { metadata?: { name?: string } };
    expect(answer.metadata?.name).toBe('edge-a');

    const node = await cloud.core.readNode({ name: 'edge-a' });
    expect(node.metadata?.labels).toMatchObject({ 'node-role.kubernetes.io/edge': '', zone: 'factory-1', 'kubernetes.io/hostname': 'edge-a' });
    expect(node.metadata?.annotations?.['kedge.io/autonomy']).toBe('true');
    expect(node.status?.addresses).toEqual([{ type: 'InternalIP', address: '10.0.0.7' }]);
    expect(node.status?.capacity).toMatchObject({ cpu: '4', pods: '110' });
    expect(node.status?.nodeInfo?.architecture).toBe('arm64');
    // the edge is then sent its own Node
    await waitFor(() => edge.store.has('node/null/edge-a'), 'the node to be sent down');
  });

  it('node status updates patch the Node status', async () => {
    const cloud = await startCloud(pki, cleanup);
    const edge = await cloud.edge('edge-a');
    await registerNode(edge);
    await edge.request('update', 'null/nodestatus/edge-a', {
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'DiskFull', message: 'no space' }], capacity: { cpu: '8' } },
    });
    const node = await cloud.core.readNode({ name: 'edge-a' });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'DiskFull' });
    expect(node.status?.capacity?.['cpu']).toBe('8');
  });

  it('with a kubelet API endpoint, the Node points at cloudcore and keeps the edge\'s addresses in an annotation', async () => {
    const endpoints = new Map<string, { address: string; port: number }>();
    const cloud = await startCloud(pki, cleanup, { nodeEndpoint: (node) => endpoints.get(node) });
    const edge = await cloud.edge('edge-a');
    // registered before its port was allocated: the edge's own addresses, as before
    await registerNode(edge);
    expect((await cloud.core.readNode({ name: 'edge-a' })).status?.addresses).toEqual([{ type: 'InternalIP', address: '10.0.0.7' }]);
    endpoints.set('edge-a', { address: '192.0.2.10', port: 10351 });
    await cloud.controller.nodeEndpointChanged('edge-a');
    let node = await cloud.core.readNode({ name: 'edge-a' });
    expect(node.status?.addresses).toEqual([
      { type: 'InternalIP', address: '192.0.2.10' },
    ]);
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10351);
    // the same endpoint again (a reconnect after a cloudcore restart): the Node is not written again
    // the edge is sent the pointed Node from the controller's informer: then that informer holds it
    await waitFor(() => edge.store.get('node/null/edge-a')?.resourceVersion === node.metadata?.resourceVersion, 'the pointed Node to reach the edge');
    const patchesBefore = await nodePatches(cloud);
    await cloud.controller.nodeEndpointChanged('edge-a');
    expect(await nodePatches(cloud)).toBe(patchesBefore);
    expect((await cloud.core.readNode({ name: 'edge-a' })).metadata?.resourceVersion).toBe(node.metadata?.resourceVersion);
    // another port is written
    endpoints.set('edge-a', { address: '192.0.2.10', port: 10361 });
    await cloud.controller.nodeEndpointChanged('edge-a');
    expect(await nodePatches(cloud)).toBe(patchesBefore + 1);
    node = await cloud.core.readNode({ name: 'edge-a' });
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10361);
    // a status from the edge is pointed the same way; what the edge said is kept
    await edge.request('update', 'null/nodestatus/edge-a', { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.99' }], capacity: { cpu: '2' } } });
    node = await cloud.core.readNode({ name: 'edge-a' });
    expect(node.status?.addresses?.[0]).toEqual({ type: 'InternalIP', address: '192.0.2.10' });
    expect(node.status?.capacity?.['cpu']).toBe('2');
    expect(JSON.parse(node.metadata?.annotations?.['kedge.io/edge-addresses'] ?? '[]')).toEqual([{ type: 'InternalIP', address: '10.0.0.99' }]);
    // a node registering after its port was allocated is created pointed, with the annotation
    endpoints.set('edge-b', { address: '192.0.2.10', port: 10352 });
    await registerNode(await cloud.edge('edge-b'));
    const created = await cloud.core.readNode({ name: 'edge-b' });
    expect(created.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10352);
    expect(JSON.parse(created.metadata?.annotations?.['kedge.io/edge-addresses'] ?? '[]')).toEqual([{ type: 'InternalIP', address: '10.0.0.7' }]);
  });

  it('a node may not register, update or lease another node', async () => {
    const { cloud, a } = await twoEdges();
    expect(await refusal(a.request('update', 'null/node/edge-b', { status: {} }))).toMatch(/^foreign-node/);
    expect(await refusal(a.request('update', 'null/nodestatus/edge-b', { status: { capacity: { cpu: '1' } } }))).toMatch(/^foreign-node/);
    expect(await refusal(a.request('update', 'kube-node-lease/lease/edge-b', {}))).toMatch(/^foreign-node/);
    expect((await cloud.core.readNode({ name: 'edge-b' })).status?.capacity?.['cpu']).toBe('4');
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'foreign-node' })).toBe(3);
  });

  it('lease renewal creates the Lease, then renews it', async () => {
    const cloud = await startCloud(pki, cleanup);
    const edge = await cloud.edge('edge-a');
    await registerNode(edge);
    await edge.request('update', 'kube-node-lease/lease/edge-a', { spec: { leaseDurationSeconds: 40 } });
    const first = await cloud.coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: 'edge-a' });
    expect(first.spec?.holderIdentity).toBe('edge-a');
    expect(first.spec?.leaseDurationSeconds).toBe(40);
    await waitFor(async () => {
      await edge.request('update', 'kube-node-lease/lease/edge-a', { spec: { leaseDurationSeconds: 40 } });
      const renewed = await cloud.coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: 'edge-a' });
      return String(renewed.spec?.renewTime) !== String(first.spec?.renewTime) && renewed.metadata?.resourceVersion !== first.metadata?.resourceVersion;
    }, 'the lease to be renewed');
  });
});

describe('edgecontroller upstream - pods, events and queries', () => {
  it('pod status from the edge reaches the API server; another node cannot touch it', async () => {
    const { cloud, a, b } = await twoEdges();
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    await a.request('update', 'apps/podstatus/p1', { status: { phase: 'Running', podIP: '10.244.0.9', conditions: [{ type: 'Ready', status: 'True' }] } });
    const pod = await cloud.core.readNamespacedPod({ namespace: 'apps', name: 'p1' });
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.podIP).toBe('10.244.0.9');

    expect(await refusal(b.request('update', 'apps/podstatus/p1', { status: { phase: 'Failed' } }))).toMatch(/^pod-not-bound/);
    expect((await cloud.core.readNamespacedPod({ namespace: 'apps', name: 'p1' })).status?.phase).toBe('Running');
    expect(await refusal(a.request('update', 'apps/podstatus/missing', { status: { phase: 'Running' } }))).toMatch(/^not-found/);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'pod-not-bound' })).toBe(1);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_upstream_total', { type: 'podstatus', result: 'ok' })).toBe(1);
  });

  it('attack - a status report about a pod deleted and created again under the same name does not become the new pod\'s status', async () => {
    const { cloud, a } = await twoEdges();
    const first = await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    await a.request('update', 'apps/podstatus/p1', { metadata: { name: 'p1', namespace: 'apps', uid: first.metadata?.uid }, status: { phase: 'Running' } });
    await cloud.core.deleteNamespacedPod({ namespace: 'apps', name: 'p1', gracePeriodSeconds: 0 });
    await waitFor(async () => (await cloud.core.readNamespacedPod({ namespace: 'apps', name: 'p1' }).catch(() => undefined)) === undefined, 'the first p1 to be gone');
    const second = await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    expect(second.metadata?.uid).not.toBe(first.metadata?.uid);
    expect(await refusal(a.request('update', 'apps/podstatus/p1', { metadata: { name: 'p1', namespace: 'apps', uid: first.metadata?.uid }, status: { phase: 'Failed' } }))).toMatch(
      /^not-found: .*deleted and created again/,
    );
    expect((await cloud.core.readNamespacedPod({ namespace: 'apps', name: 'p1' })).status?.phase).not.toBe('Failed');
    // the report about the pod that exists goes through
    await a.request('update', 'apps/podstatus/p1', { metadata: { name: 'p1', namespace: 'apps', uid: second.metadata?.uid }, status: { phase: 'Running' } });
    expect((await cloud.core.readNamespacedPod({ namespace: 'apps', name: 'p1' })).status?.phase).toBe('Running');
  });

  it('the edge finishes the graceful deletion of its own terminating pods, and only those', async () => {
    const { cloud, a, b } = await twoEdges();
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    await waitFor(() => a.store.has('pod/apps/p1'), 'the pod to reach edge-a');
    expect(await refusal(a.request('delete', 'apps/pod/p1', null))).toMatch(/^not-terminating/);

    await cloud.core.deleteNamespacedPod({ namespace: 'apps', name: 'p1' });
    await waitFor(() => (a.store.get('pod/apps/p1')?.object['metadata'] as { deletionTimestamp?: string } | undefined)?.deletionTimestamp !== undefined, 'the terminating pod to reach edge-a');
    expect(await refusal(b.request('delete', 'apps/pod/p1', null))).toMatch(/^pod-not-bound/);
    await a.request('delete', 'apps/pod/p1', null);
    await waitFor(() => !a.store.has('pod/apps/p1'), 'the pod to be deleted on edge-a as well');
    expect(await refusal(a.request('update', 'apps/podstatus/p1', { status: { phase: 'Succeeded' } }))).toMatch(/^not-found/);
  });

  it('a node may query the secrets and configmaps its pods use, and no others', async () => {
    const { cloud, a, b } = await twoEdges();
    await createSecret(cloud.core, 'apps', 'mine');
    await createSecret(cloud.core, 'apps', 'theirs');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('pa', 'apps', 'edge-a', { volumeSecret: 'mine' }) });
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('pb', 'apps', 'edge-b', { envSecret: 'theirs' }) });
    await waitFor(() => a.store.has('pod/apps/pa') && b.store.has('pod/apps/pb'), 'the pods to reach their edges');

    const reply = await a.request('query', 'apps/secret/mine', null);
    expect((reply.content as { metadata?: { name?: string } }).metadata?.name).toBe('mine');
    expect(await refusal(a.request('query', 'apps/secret/theirs', null))).toMatch(/^not-referenced/);
    expect(await refusal(a.request('query', 'apps/configmap/anything', null))).toMatch(/^not-referenced/);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'not-referenced' })).toBe(2);
  });

  it('events from the edge are created; events about another node\'s pod are refused', async () => {
    const { cloud, a, b } = await twoEdges();
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    await waitFor(() => a.store.has('pod/apps/p1'), 'the pod to reach edge-a');
    const event = (name: string) => ({
      metadata: { name, namespace: 'apps' },
      involvedObject: { kind: 'Pod', name: 'p1', namespace: 'apps' },
      reason: 'Started',
      message: 'container started',
      type: 'Normal',
      source: { component: 'kedge-edged', host: 'edge-a' },
    });
    await a.request('insert', 'apps/event/p1.started', event('p1.started'));
    const created = await cloud.core.readNamespacedEvent({ namespace: 'apps', name: 'p1.started' });
    expect(created.reason).toBe('Started');
    expect(await refusal(b.request('insert', 'apps/event/p1.fake', event('p1.fake')))).toMatch(/^pod-not-bound/);
  });
});
