// Threat suite: what an edge may do upstream. Only edge nodes kedge registered are served (an edge
// holding a certificate for a control-plane node's name gets none of its pods or secrets), a node
// sets only the labels NodeRestriction lets a kubelet set, and a node flooding Events loses its own.
// Real API server, real CloudHub socket, simulated edges with real node certificates.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Cleanup, EdgeRequestError, createTestPki, metricValue, type TestPki } from '@kedge/testkit';
import { startCloud } from './fixtures/cloud';
import { createNamespace, createSecret, podSpec, registerNode } from './fixtures/kube';
import { nodeLabelRefusal } from '../src/index';

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

describe('threat - upstream from edges', () => {
  it('attack - an edge acting as a control-plane node (pod status, secrets, its Node) is refused', async () => {
    const cloud = await startCloud(pki, cleanup);
    await createNamespace(cloud.core, 'ops');
    // a control-plane node of the cluster, not registered by kedge, running a pod that uses a secret
    await cloud.core.createNode({ body: { metadata: { name: 'master', labels: { 'node-role.kubernetes.io/control-plane': '' } } } });
    await createSecret(cloud.core, 'ops', 'etcd-certs');
    await cloud.core.createNamespacedPod({ namespace: 'ops', body: podSpec('etcd', 'ops', 'master', { volumeSecret: 'etcd-certs' }) });

    // an attacker who got a certificate for the name "master"
    const attacker = await cloud.edge('master');
    expect(await refusal(attacker.request('update', 'ops/podstatus/etcd', { status: { phase: 'Failed' } }))).toMatch(/^not-edge-node/);
    expect(await refusal(attacker.request('query', 'ops/secret/etcd-certs', null))).toMatch(/^not-edge-node/);
    expect(await refusal(attacker.request('update', 'null/nodestatus/master', { status: { capacity: { cpu: '1' } } }))).toMatch(/^not-edge-node/);
    expect(await refusal(registerNode(attacker))).toMatch(/^not-edge-node/);

    expect((await cloud.core.readNamespacedPod({ namespace: 'ops', name: 'etcd' })).status?.phase).not.toBe('Failed');
    const master = await cloud.core.readNode({ name: 'master' });
    expect(master.metadata?.labels?.['node-role.kubernetes.io/edge']).toBeUndefined();
    expect(master.status?.capacity?.['cpu']).toBeUndefined();
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'not-edge-node' })).toBe(4);
  });

  it('attack - an edge setting node-role.kubernetes.io/control-plane or another hostname on its Node is refused', async () => {
    const cloud = await startCloud(pki, cleanup);
    const edge = await cloud.edge('edge-a');
    await registerNode(edge, { labels: { site: 'plant-7', 'topology.kubernetes.io/zone': 'hall-2', 'node.kubernetes.io/instance-type': 'rpi4' } });

    const update = (labels: Record<string, string>) =>
      edge.request('update', 'null/node/edge-a', { metadata: { name: 'edge-a', labels }, status: { capacity: { cpu: '4' } } });
    expect(await refusal(update({ 'node-role.kubernetes.io/control-plane': '' }))).toMatch(/^forbidden-label: label "node-role.kubernetes.io\/control-plane"/);
    expect(await refusal(update({ 'kubernetes.io/hostname': 'master' }))).toMatch(/^forbidden-label: .*own name "edge-a"/);
    expect(await refusal(update({ 'node-restriction.kubernetes.io/trusted': 'yes' }))).toMatch(/^forbidden-label/);

    // a new node cannot register with them either
    const newcomer = await cloud.edge('edge-b');
    expect(await refusal(registerNode(newcomer, { labels: { 'node-role.kubernetes.io/master': '' } }))).toMatch(/^forbidden-label/);
    await expect(cloud.core.readNode({ name: 'edge-b' })).rejects.toMatchObject({ code: 404 });

    const labels = (await cloud.core.readNode({ name: 'edge-a' })).metadata?.labels ?? {};
    expect(Object.keys(labels).filter((key) => key.startsWith('node-role.kubernetes.io/'))).toEqual(['node-role.kubernetes.io/edge']);
    expect(labels['kubernetes.io/hostname']).toBe('edge-a');
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'forbidden-label' })).toBe(4);
  });

  it('attack - an edge flooding events is throttled to its own budget; other nodes still get theirs in', async () => {
    const cloud = await startCloud(pki, cleanup, { controller: { events: { perSecond: 2, burst: 10 } } });
    const flooder = await cloud.edge('edge-a');
    const neighbour = await cloud.edge('edge-b');
    await registerNode(flooder);
    await registerNode(neighbour);
    const event = (node: string, name: string) => ({
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Node', name: node },
      reason: 'Flood',
      message: 'flood',
      type: 'Normal',
    });
    const started = Date.now();
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => flooder.request('insert', `default/event/flood-${i}`, event('edge-a', `flood-${i}`))));
    const elapsedSeconds = (Date.now() - started) / 1000;
    const accepted = results.filter((r) => r.status === 'fulfilled').length;
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThanOrEqual(10 + Math.ceil(elapsedSeconds * 2) + 1);
    const refusedReasons = results.flatMap((r) => (r.status === 'rejected' && r.reason instanceof EdgeRequestError ? [String(r.reason.reply.content)] : []));
    expect(refusedReasons.length).toBe(100 - accepted);
    expect(refusedReasons.every((reason) => reason.startsWith('rate-limited'))).toBe(true);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'rate-limited' })).toBe(100 - accepted);

    await neighbour.request('insert', 'default/event/calm-1', event('edge-b', 'calm-1'));
    expect((await cloud.core.readNamespacedEvent({ namespace: 'default', name: 'calm-1' })).reason).toBe('Flood');
  });
});

describe('node label rule', () => {
  it('follows NodeRestriction: well-known machine labels and non-Kubernetes namespaces are allowed, the rest of kubernetes.io and k8s.io is not', () => {
    const allowed = ['site', 'example.com/line', 'kubernetes.io/arch', 'kubernetes.io/os', 'beta.kubernetes.io/arch', 'failure-domain.beta.kubernetes.io/zone',
      'topology.kubernetes.io/region', 'node.kubernetes.io/instance-type', 'node.kubernetes.io/windows-build', 'kubelet.kubernetes.io/x', 'foo.node.kubernetes.io/y'];
    for (const key of allowed) expect(nodeLabelRefusal('gw', key, 'v'), key).toBeUndefined();
    expect(nodeLabelRefusal('gw', 'kubernetes.io/hostname', 'gw')).toBeUndefined();
    const refused = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/edge', 'node-restriction.kubernetes.io/x', 'kubernetes.io/role',
      'topology.kubernetes.io/rack', 'k8s.io/x', 'foo.k8s.io/y', 'example.kubernetes.io/z'];
    for (const key of refused) expect(nodeLabelRefusal('gw', key, 'v'), key).toBeDefined();
    expect(nodeLabelRefusal('gw', 'kubernetes.io/hostname', 'other')).toMatch(/own name/);
  });
});
