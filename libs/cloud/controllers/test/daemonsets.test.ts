// DaemonSets against a real API server: one pod per matching node, a new labelled node gets one,
// unlabelling removes it, a tainted node only with a toleration, a rolling update within
// maxUnavailable, and a disconnected edge node keeping its daemon pod.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@kedge/testkit';
import { live, WorkloadTestCluster, type PodView } from './harness';

let cluster: WorkloadTestCluster;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start();
  await cluster.addNode('gw-1', { labels: { 'node-role.kubernetes.io/edge': '', gateway: 'yes' } });
  await cluster.addNode('gw-2', { labels: { 'node-role.kubernetes.io/edge': '', gateway: 'yes' } });
  await cluster.addNode('server-1', { labels: { gateway: 'no' } });
  cluster.startKubelets();
});

afterAll(async () => {
  await cluster?.close();
});

function daemonSet(name: string, options: { image?: string; tolerations?: string } = {}): string {
  return `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      nodeSelector:
        gateway: "yes"
${options.tolerations ?? ''}      containers:
      - name: agent
        image: ${options.image ?? 'busybox:1.36'}
`;
}

function nodesOf(pods: PodView[]): string[] {
  return live(pods)
    .map((pod) => pod.spec.nodeName ?? '')
    .sort();
}

describe('daemonset controller', () => {
  it('daemonset - one pod per matching node, with spec.nodeName set, and rollout status completes', async () => {
    await cluster.run(['apply', '-f', '-'], daemonSet('agent'));
    await cluster.waitForPods('app=agent', 'a pod on each gateway', (pods) => nodesOf(pods).join() === 'gw-1,gw-2');
    expect((await cluster.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
    const status = (await cluster.getJson('daemonset', 'agent'))['status'];
    expect(status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, numberAvailable: 2, updatedNumberScheduled: 2, numberMisscheduled: 0 });
    const [pod] = await cluster.pods('app=agent');
    expect(pod?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'DaemonSet', name: 'agent' });
  });

  it('daemonset - a new labelled node gets a pod and an unlabelled node loses it', async () => {
    await cluster.addNode('gw-3', { labels: { gateway: 'yes' } });
    await cluster.waitForPods('app=agent', 'a pod on gw-3', (pods) => nodesOf(pods).join() === 'gw-1,gw-2,gw-3');
    await cluster.run(['label', 'node', 'gw-2', 'gateway=no', '--overwrite']);
    await cluster.waitForPods('app=agent', 'no pod on gw-2', (pods) => nodesOf(pods).join() === 'gw-1,gw-3' && pods.length === 2);
    await waitFor(async () => (await cluster.getJson('daemonset', 'agent'))['status'].desiredNumberScheduled === 2, 'desired 2');
  });

  it('daemonset - a deleted node loses its pod', async () => {
    await cluster.run(['delete', 'node', 'gw-3']);
    await cluster.waitForPods('app=agent', 'pods only on gw-1', (pods) => pods.length === 1 && nodesOf(pods).join() === 'gw-1');
  });

  it('daemonset - a tainted node is skipped unless the template tolerates the taint', async () => {
    await cluster.addNode('gw-tainted', { labels: { gateway: 'yes' }, taints: [{ key: 'maintenance', value: 'now', effect: 'NoSchedule' }] });
    await cluster.run(['apply', '-f', '-'], daemonSet('plain'));
    await cluster.run(['apply', '-f', '-'], daemonSet('tolerant', { tolerations: '      tolerations:\n      - key: maintenance\n        operator: Exists\n' }));
    await cluster.waitForPods('app=tolerant', 'tolerant on both', (pods) => nodesOf(pods).join() === 'gw-1,gw-tainted');
    await cluster.waitForPods('app=plain', 'plain on gw-1', (pods) => nodesOf(pods).join() === 'gw-1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(nodesOf(await cluster.pods('app=plain'))).toEqual(['gw-1']);
    await cluster.run(['delete', 'node', 'gw-tainted']);
  });

  it('daemonset - a new image replaces the pods one node at a time', async () => {
    await cluster.addNode('gw-4', { labels: { gateway: 'yes' } });
    await cluster.waitForPods('app=agent', 'agent on gw-1 and gw-4', (pods) => nodesOf(pods).join() === 'gw-1,gw-4');
    expect((await cluster.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
    const before = new Set((await cluster.pods('app=agent')).map((pod) => pod.metadata.name));
    let mostDown = 0;
    const watcher = setInterval(() => {
      void cluster.pods('app=agent').then((pods) => {
        const ready = live(pods).filter((pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
        mostDown = Math.max(mostDown, 2 - ready);
      });
    }, 30);
    try {
      await cluster.run(['set', 'image', 'daemonset/agent', 'agent=busybox:1.37']);
      expect((await cluster.kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
    } finally {
      clearInterval(watcher);
    }
    const after = await cluster.waitForPods('app=agent', 'two new pods', (pods) => pods.length === 2);
    expect(after.every((pod) => !before.has(pod.metadata.name))).toBe(true);
    expect(mostDown).toBeLessThanOrEqual(1);
  });

  it('daemonset - a disconnected edge node keeps its daemon pod', async () => {
    const [onGw1] = (await cluster.pods('app=agent')).filter((pod) => pod.spec.nodeName === 'gw-1');
    cluster.silentNodes.add('gw-1');
    await cluster.setNodeReady('gw-1', 'Unknown');
    await cluster.run(['taint', 'node', 'gw-1', 'node.kubernetes.io/unreachable:NoSchedule']);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const pods = await cluster.pods('app=agent');
    expect(pods.find((pod) => pod.metadata.name === onGw1?.metadata.name)?.metadata.deletionTimestamp).toBeUndefined();
    expect(nodesOf(pods)).toEqual(['gw-1', 'gw-4']);
    const status = (await cluster.getJson('daemonset', 'agent'))['status'];
    expect(status).toMatchObject({ desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 0 });
  });
});
