// The disruption controller against a real API server, driven by the real kubectl: a Deployment's
// budget reports expected/healthy/allowed from the pods and the Deployment's scale, `kubectl drain`
// moves the pods off a node one disruption at a time, and a pod whose Ready turns Unknown stops counting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergePatch } from '@kedge/kube-client';
import { waitFor } from '@kedge/testkit';
import { live, WorkloadTestCluster } from './harness';

let cluster: WorkloadTestCluster;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start();
  await cluster.addNode('edge-a', { labels: { zone: 'edge' } });
  await cluster.addNode('edge-b', { labels: { zone: 'edge' } });
  cluster.startKubelets();
});

afterAll(async () => {
  await cluster?.close();
});

function deployment(name: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      nodeSelector: {zone: edge}
      containers: [{name: app, image: 'busybox:1.36'}]
`;
}

interface BudgetView {
  metadata: { generation: number };
  status: { observedGeneration?: number; expectedPods: number; currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number; disruptedPods?: Record<string, string>; conditions?: Array<{ type: string; status: string; reason: string }> };
}

async function waitForBudget(name: string, what: string, check: (budget: BudgetView) => boolean): Promise<BudgetView> {
  let last: BudgetView | undefined;
  await waitFor(async () => check((last = await cluster.getJson<BudgetView>('pdb', name))), what, { timeoutMs: 60_000, intervalMs: 200, onTimeout: () => JSON.stringify(last?.status) });
  return last as BudgetView;
}

describe('disruption controller', () => {
  it('disruption - a budget over a Deployment reports its pods, and kubectl drain moves them without breaking it', async () => {
    await cluster.run(['apply', '-f', '-'], deployment('web', 3));
    await cluster.run(['create', 'pdb', 'web', '--selector=app=web', '--min-available=2']);
    const ready = await waitForBudget('web', 'web budget computed', (budget) => budget.status.expectedPods === 3 && budget.status.currentHealthy === 3);
    expect(ready.status).toMatchObject({ observedGeneration: ready.metadata.generation, desiredHealthy: 2, disruptionsAllowed: 1 });
    expect(ready.status.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' }));
    const onA = live(await cluster.pods('app=web')).filter((pod) => pod.spec.nodeName === 'edge-a').length;
    expect(onA).toBeGreaterThan(0);

    const drain = await cluster.kubectl(['drain', 'edge-a', '--timeout=90s'], { timeoutMs: 100_000 });
    expect(drain.code, drain.stderr).toBe(0);
    expect(drain.stdout).toContain('node/edge-a drained');
    const after = await cluster.waitForPods('app=web', 'all replicas on edge-b', (pods) => live(pods).length === 3 && live(pods).every((pod) => pod.spec.nodeName === 'edge-b' && pod.status?.phase === 'Running'));
    expect(after).toHaveLength(3);
    const settled = await waitForBudget('web', 'budget back to one allowed disruption', (budget) => budget.status.currentHealthy === 3 && budget.status.disruptionsAllowed === 1);
    expect(settled.status.disruptedPods ?? {}).toEqual({});
    await cluster.run(['uncordon', 'edge-a']);
  });

  it('disruption - maxUnavailable as a percentage scales with the Deployment, and a pod whose Ready is Unknown is not healthy', async () => {
    await cluster.run(['apply', '-f', '-'], deployment('api', 4));
    await cluster.run(['create', 'pdb', 'api', '--selector=app=api', '--max-unavailable=50%']);
    await waitForBudget('api', 'api budget computed', (budget) => budget.status.expectedPods === 4 && budget.status.currentHealthy === 4);
    expect((await cluster.getJson<BudgetView>('pdb', 'api')).status).toMatchObject({ desiredHealthy: 2, disruptionsAllowed: 2 });
    await cluster.run(['scale', 'deployment', 'api', '--replicas=6']);
    await waitForBudget('api', 'api budget follows the scale', (budget) => budget.status.expectedPods === 6 && budget.status.desiredHealthy === 3 && budget.status.currentHealthy === 6);
    // what node lifecycle upstream writes for a node that stopped reporting; the fake kubelet leaves Running pods alone
    const [victim] = live(await cluster.pods('app=api'));
    const conditions = [{ type: 'Ready', status: 'Unknown', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }];
    await cluster.core.patchNamespacedPodStatus({ name: victim?.metadata.name ?? '', namespace: 'default', body: { status: { conditions } } }, mergePatch());
    const unknown = await waitForBudget('api', 'the Unknown pod no longer counts', (budget) => budget.status.currentHealthy === 5);
    expect(unknown.status.disruptionsAllowed).toBe(2);
  });
});
