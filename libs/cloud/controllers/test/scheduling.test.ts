// The scheduler against a real API server: unschedulable pods get the condition and an Event and are
// placed once a fitting node appears; taints keep pods off unless tolerated; and a Running pod on an
// edge node whose link is down (Ready=Unknown, unreachable:NoSchedule, as NodeLifecycle writes it)
// is kept and counted, never replaced, while new pods avoid that node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@kedge/testkit';
import { live, WorkloadTestCluster } from './harness';

let cluster: WorkloadTestCluster;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start();
  await cluster.addNode('plain-1', { labels: { pool: 'plain' } });
  await cluster.addNode('plain-2', { labels: { pool: 'plain' } });
  cluster.startKubelets();
});

afterAll(async () => {
  await cluster?.close();
});

function pod(name: string, extraSpec: string): string {
  return `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n    test: ${name}\nspec:\n${extraSpec}  containers:\n  - name: app\n    image: busybox:1.36\n`;
}

async function podJson(name: string): Promise<{ spec: { nodeName?: string }; status: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } }> {
  return cluster.getJson('pod', name);
}

describe('scheduler', () => {
  it('scheduler - a pod no node fits gets PodScheduled=False and a FailedScheduling event, then lands when a node appears', async () => {
    await cluster.run(['apply', '-f', '-'], pod('wants-ssd', '  nodeSelector:\n    disk: ssd\n'));
    await waitFor(async () => (await podJson('wants-ssd')).status.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true, 'the Unschedulable condition');
    const condition = (await podJson('wants-ssd')).status.conditions?.find((c) => c.type === 'PodScheduled');
    expect(condition).toMatchObject({ reason: 'Unschedulable', message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector." });
    await waitFor(
      async () => (await cluster.run(['get', 'events', '--field-selector', 'involvedObject.name=wants-ssd,reason=FailedScheduling', '-o', 'name'])).trim() !== '',
      'a FailedScheduling event',
    );
    const attempts = await cluster.registry.getSingleMetricAsString('kedge_scheduler_attempts_total');
    expect(attempts).toMatch(/result="unschedulable"} [1-9]/);

    await cluster.addNode('ssd-1', { labels: { disk: 'ssd' } });
    await waitFor(async () => (await podJson('wants-ssd')).spec.nodeName === 'ssd-1', 'the pod bound to ssd-1');
    const scheduled = (await podJson('wants-ssd')).status.conditions?.find((c) => c.type === 'PodScheduled');
    expect(scheduled?.status).toBe('True');
  });

  it('scheduler - a tainted node is skipped unless the pod tolerates the taint', async () => {
    await cluster.addNode('gpu-1', { labels: { accel: 'gpu' }, taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] });
    await cluster.run(['apply', '-f', '-'], pod('no-toleration', '  nodeSelector:\n    accel: gpu\n'));
    await cluster.run(['apply', '-f', '-'], pod('tolerates', '  nodeSelector:\n    accel: gpu\n  tolerations:\n  - key: dedicated\n    operator: Equal\n    value: gpu\n    effect: NoSchedule\n'));
    await waitFor(async () => (await podJson('tolerates')).spec.nodeName === 'gpu-1', 'the tolerating pod on gpu-1');
    await waitFor(async () => (await podJson('no-toleration')).status.conditions?.some((c) => c.reason === 'Unschedulable') === true, 'the other pod unschedulable');
    const message = (await podJson('no-toleration')).status.conditions?.find((c) => c.type === 'PodScheduled')?.message;
    expect(message).toBe("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 3 node(s) didn't match Pod's node affinity/selector.");
    expect((await podJson('no-toleration')).spec.nodeName).toBeUndefined();
  });

  it('scheduler - required node affinity with In and Gt picks only matching nodes, the least loaded first', async () => {
    await cluster.addNode('big-1', { labels: { cores: '16', pool: 'big' } });
    await cluster.addNode('big-2', { labels: { cores: '32', pool: 'big' } });
    await cluster.addNode('small-1', { labels: { cores: '2', pool: 'big' } });
    const affinity =
      '  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n        - matchExpressions:\n          - key: pool\n            operator: In\n            values: [big]\n          - key: cores\n            operator: Gt\n            values: ["8"]\n';
    for (const name of ['aff-1', 'aff-2', 'aff-3', 'aff-4']) await cluster.run(['apply', '-f', '-'], pod(name, affinity));
    await waitFor(async () => {
      const nodes = await Promise.all(['aff-1', 'aff-2', 'aff-3', 'aff-4'].map(async (name) => (await podJson(name)).spec.nodeName));
      return nodes.every((node) => node !== undefined);
    }, 'four pods bound');
    const nodes = await Promise.all(['aff-1', 'aff-2', 'aff-3', 'aff-4'].map(async (name) => (await podJson(name)).spec.nodeName));
    expect(nodes.filter((node) => node === 'big-1')).toHaveLength(2);
    expect(nodes.filter((node) => node === 'big-2')).toHaveLength(2);
  });

  it('scheduler - a Running pod on a disconnected edge node is kept and counted; new pods avoid that node', async () => {
    await cluster.addNode('edge-x1', { labels: { 'node-role.kubernetes.io/edge': '', site: 'x' } });
    await cluster.addNode('edge-x2', { labels: { 'node-role.kubernetes.io/edge': '', site: 'x' } });
    await cluster.run(
      ['apply', '-f', '-'],
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: sensor\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: sensor\n  template:\n    metadata:\n      labels:\n        app: sensor\n    spec:\n      nodeSelector:\n        site: x\n      containers:\n      - name: app\n        image: busybox:1.36\n`,
    );
    expect((await cluster.kubectl(['rollout', 'status', 'deployment/sensor', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
    const before = live(await cluster.pods('app=sensor'));
    expect(new Set(before.map((p) => p.spec.nodeName))).toEqual(new Set(['edge-x1', 'edge-x2']));
    const stranded = before.find((p) => p.spec.nodeName === 'edge-x1')!;

    // the link to edge-x1 drops: its kubelet goes quiet, NodeLifecycle marks it Unknown and unreachable:NoSchedule
    cluster.silentNodes.add('edge-x1');
    await cluster.setNodeReady('edge-x1', 'Unknown');
    await cluster.run(['taint', 'node', 'edge-x1', 'node.kubernetes.io/unreachable:NoSchedule']);
    await cluster.run(['scale', 'deployment/sensor', '--replicas=3']);
    const after = await cluster.waitForPods('app=sensor', 'three pods', (found) => live(found).length === 3 && live(found).every((p) => p.status?.phase === 'Running'));
    // the stranded pod is still there, unchanged; the new one went to the reachable node
    expect(after.find((p) => p.metadata.name === stranded.metadata.name)?.metadata.deletionTimestamp).toBeUndefined();
    expect(after.filter((p) => p.spec.nodeName === 'edge-x1').map((p) => p.metadata.name)).toEqual([stranded.metadata.name]);
    expect(after.filter((p) => p.spec.nodeName === 'edge-x2')).toHaveLength(2);
    // a while later still nothing replaced it, and it counts as available
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(live(await cluster.pods('app=sensor'))).toHaveLength(3);
    const status = (await cluster.getJson('deployment', 'sensor'))['status'];
    expect(status).toMatchObject({ replicas: 3, availableReplicas: 3 });
  });
});
