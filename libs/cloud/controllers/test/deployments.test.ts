// Deployments and ReplicaSets against a real API server, driven by the real kubectl: pods bound by
// the scheduler honouring a nodeSelector, rollout status, a rolling update, scale, replacement of a
// deleted pod, rollout undo and the Recreate strategy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@kedge/testkit';
import { live, WorkloadTestCluster } from './harness';

let cluster: WorkloadTestCluster;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start();
  await cluster.addNode('edge-a', { labels: { 'node-role.kubernetes.io/edge': '', zone: 'edge' } });
  await cluster.addNode('edge-b', { labels: { 'node-role.kubernetes.io/edge': '', zone: 'edge' } });
  await cluster.addNode('cloud-1', { labels: { zone: 'cloud' } });
  cluster.startKubelets();
});

afterAll(async () => {
  await cluster?.close();
});

function deployment(name: string, options: { replicas?: number; image?: string; strategy?: string } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${options.replicas ?? 3}
  ${options.strategy === 'Recreate' ? 'strategy:\n    type: Recreate' : ''}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      nodeSelector:
        zone: edge
      containers:
      - name: app
        image: ${options.image ?? 'busybox:1.36'}
`;
}

interface ReplicaSetView {
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { replicas: number; template: { spec: { containers: Array<{ image: string }> } } };
  status: { replicas?: number; readyReplicas?: number };
}

async function replicaSets(cluster: WorkloadTestCluster, app: string): Promise<ReplicaSetView[]> {
  return (JSON.parse(await cluster.run(['get', 'rs', '-l', `app=${app}`, '-o', 'json'])) as { items: ReplicaSetView[] }).items;
}

describe('deployment controller', () => {
  it('deployment - three replicas land on nodes matching the nodeSelector and rollout status completes', async () => {
    await cluster.run(['apply', '-f', '-'], deployment('web'));
    const pods = await cluster.waitForPods('app=web', '3 bound pods', (found) => live(found).length === 3 && live(found).every((pod) => pod.spec.nodeName !== undefined));
    expect(new Set(pods.map((pod) => pod.spec.nodeName))).toEqual(new Set(['edge-a', 'edge-b']));
    for (const pod of pods) {
      expect(pod.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]+-[a-z0-9]{5}$/);
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet' });
      expect(pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    }
    const rollout = await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    expect(rollout.stdout).toContain('successfully rolled out');
    expect(rollout.code).toBe(0);
    const status = (await cluster.getJson('deployment', 'web'))['status'];
    expect(status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));
    expect(status.conditions).toContainEqual(expect.objectContaining({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }));
    const [set] = await replicaSets(cluster, 'web');
    expect(set?.metadata.name).toBe(`web-${set?.metadata.labels['pod-template-hash']}`);
    expect(set?.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
  });

  it('deployment - a new image rolls out to a new ReplicaSet of 3 and scales the old one to 0', async () => {
    await cluster.run(['set', 'image', 'deployment/web', 'app=busybox:1.37']);
    const rollout = await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    expect(rollout.code, rollout.stderr).toBe(0);
    await waitFor(async () => (await replicaSets(cluster, 'web')).some((set) => set.spec.replicas === 0 && (set.status.replicas ?? 0) === 0), 'old replicaset at 0');
    const sets = await replicaSets(cluster, 'web');
    const current = sets.find((set) => set.spec.template.spec.containers[0]?.image === 'busybox:1.37');
    const old = sets.find((set) => set.spec.template.spec.containers[0]?.image === 'busybox:1.36');
    expect(current).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 3, readyReplicas: 3 } });
    expect(current?.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    expect(old?.spec.replicas).toBe(0);
    const pods = live(await cluster.pods('app=web'));
    expect(pods.every((pod) => pod.metadata.labels?.['pod-template-hash'] === current?.metadata.labels['pod-template-hash'])).toBe(true);
  });

  it('deployment - kubectl scale to 1 leaves one pod, and a deleted pod is replaced', async () => {
    await cluster.run(['scale', 'deployment/web', '--replicas=1']);
    const [survivor] = await cluster.waitForPods('app=web', 'one pod left', (found) => found.length === 1);
    expect(survivor).toBeDefined();
    await cluster.run(['delete', 'pod', survivor!.metadata.name, '--wait=false']);
    const [replacement] = await cluster.waitForPods('app=web', 'a replacement pod', (found) => {
      const running = live(found).filter((pod) => pod.metadata.name !== survivor!.metadata.name);
      return running.length === 1 && running[0]?.status?.phase === 'Running';
    });
    expect(replacement?.metadata.name).not.toBe(survivor!.metadata.name);
    const rollout = await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 });
    expect(rollout.code, rollout.stderr).toBe(0);
  });

  it('deployment - kubectl rollout undo brings the previous template back as revision 3', async () => {
    await cluster.run(['rollout', 'undo', 'deployment/web']);
    await waitFor(async () => {
      const sets = await replicaSets(cluster, 'web');
      const previous = sets.find((set) => set.spec.template.spec.containers[0]?.image === 'busybox:1.36');
      return previous?.metadata.annotations['deployment.kubernetes.io/revision'] === '3' && previous.status.readyReplicas === 1;
    }, 'the 1.36 replicaset as revision 3 with its pod ready');
    const history = await cluster.run(['rollout', 'history', 'deployment/web']);
    expect(history).toMatch(/\b2\b/);
    expect(history).toMatch(/\b3\b/);
    expect((await cluster.kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
  });

  it('deployment - Recreate stops every old pod before the new ReplicaSet grows', async () => {
    await cluster.run(['apply', '-f', '-'], deployment('batch', { replicas: 2, strategy: 'Recreate' }));
    expect((await cluster.kubectl(['rollout', 'status', 'deployment/batch', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
    const oldPods = new Set((await cluster.pods('app=batch')).map((pod) => pod.metadata.name));
    let overlap = false;
    const watcher = setInterval(() => {
      void cluster.pods('app=batch').then((pods) => {
        const running = live(pods);
        if (running.some((pod) => oldPods.has(pod.metadata.name)) && running.some((pod) => !oldPods.has(pod.metadata.name))) overlap = true;
      });
    }, 50);
    try {
      await cluster.run(['set', 'image', 'deployment/batch', 'app=busybox:1.37']);
      expect((await cluster.kubectl(['rollout', 'status', 'deployment/batch', '--timeout=60s'], { timeoutMs: 70_000 })).code).toBe(0);
    } finally {
      clearInterval(watcher);
    }
    const pods = live(await cluster.pods('app=batch'));
    expect(pods).toHaveLength(2);
    expect(pods.every((pod) => !oldPods.has(pod.metadata.name))).toBe(true);
    expect(overlap).toBe(false);
  });

  it('deployment - a template whose node affinity the scheduler cannot parse gives an InvalidSpec event and a metric, nothing crashes', async () => {
    // "Gt" needs one integer; the API server here does not check that (upstream would), so the scheduler must cope
    const broken = deployment('broken', { replicas: 1 }).replace(
      '      nodeSelector:\n        zone: edge\n',
      '      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n            - matchExpressions:\n              - key: cores\n                operator: Gt\n                values: ["many"]\n',
    );
    await cluster.run(['apply', '-f', '-'], broken);
    const [pod] = await cluster.waitForPods('app=broken', 'the broken pod', (found) => found.length === 1);
    const selector = `involvedObject.name=${pod!.metadata.name},reason=InvalidSpec`;
    await waitFor(async () => (await cluster.run(['get', 'events', '--field-selector', selector, '-o', 'name'])).trim() !== '', 'an InvalidSpec event');
    const events = await cluster.run(['get', 'events', '--field-selector', selector, '-o', 'jsonpath={.items[*].message}']);
    expect(events).toContain('spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values');
    const metrics = await cluster.registry.getSingleMetricAsString('kedge_workload_invalid_specs_total');
    expect(metrics).toMatch(/controller="scheduler".*nodeSelectorTerms\[0\]/);
    expect((await cluster.pods('app=broken'))[0]?.spec.nodeName).toBeUndefined();
    // the other workloads are still served
    await cluster.run(['scale', 'deployment/web', '--replicas=2']);
    await cluster.waitForPods('app=web', 'two web pods', (found) => live(found).length === 2);
  });
});
