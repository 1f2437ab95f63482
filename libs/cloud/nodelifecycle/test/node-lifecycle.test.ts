// NodeLifecycle with an injected clock: an edge node whose lease is not renewed goes Ready=Unknown
// and gets unreachable:NoSchedule; autonomous nodes keep their pods forever, non-autonomous ones
// get NoExecute and lose the pods that do not tolerate it after the eviction timeout.
import type { CoreV1Api, V1Node, V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cleanup, metricValue, waitFor } from '@kedge/testkit';
import { startNodeLifecycle, type NodeLifecycle } from '../src/index';
import { createNamespace, podSpec, registerEdgeNode, renewLease, setReady, startCluster, testLogger, type TestCluster } from './fixtures/cluster';

const cleanup = new Cleanup();

afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

interface Clock {
  now: () => number;
  advance(ms: number): void;
}

function manualClock(): Clock {
  let t = Date.now();
  return { now: () => t, advance: (ms) => (t += ms) };
}

function lifecycle(cloud: TestCluster, clock: Clock, evictionTimeoutMs = 300_000): NodeLifecycle {
  const started = startNodeLifecycle({
    kubeConfig: cloud.kubeConfig,
    logger: testLogger('nodelifecycle'),
    registry: cloud.registry,
    gracePeriodMs: 1_000,
    checkIntervalMs: 50,
    evictionTimeoutMs,
    now: clock.now,
  });
  cleanup.add(() => started.close());
  return started;
}

const ready = (node: V1Node) => node.status?.conditions?.find((c) => c.type === 'Ready');
const taints = (node: V1Node) => (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();

async function until(check: NodeLifecycle, core: CoreV1Api, what: string, condition: (node: V1Node) => boolean): Promise<V1Node> {
  let last: V1Node | undefined;
  await waitFor(async () => {
    await check.check();
    last = await core.readNode({ name: 'edge-a' });
    return condition(last);
  }, what, { onTimeout: () => JSON.stringify({ conditions: last?.status?.conditions, taints: last?.spec?.taints }) });
  return last as V1Node;
}

async function podGone(core: CoreV1Api, name: string): Promise<boolean> {
  try {
    const pod = await core.readNamespacedPod({ namespace: 'apps', name });
    return pod.metadata?.deletionTimestamp !== undefined;
  } catch {
    return true;
  }
}

function tolerating(pod: V1Pod, tolerationSeconds?: number): V1Pod {
  const toleration = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', ...(tolerationSeconds === undefined ? {} : { tolerationSeconds }) };
  return { ...pod, spec: { ...pod.spec, containers: pod.spec?.containers ?? [], tolerations: [toleration] } };
}

describe('nodelifecycle - lease expiry', () => {
  it('an autonomous node whose lease expires becomes Ready=Unknown with NoSchedule only and keeps its pods', async () => {
    const cloud = await startCluster(cleanup);
    await registerEdgeNode(cloud, 'edge-a');
    await renewLease(cloud, 'edge-a');
    await createNamespace(cloud.core, 'apps');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('p1', 'apps', 'edge-a') });
    const clock = manualClock();
    const controller = lifecycle(cloud, clock);
    await controller.check();
    expect(ready(await cloud.core.readNode({ name: 'edge-a' }))?.status).toBe('True');

    clock.advance(2_000);
    const unknown = await until(controller, cloud.core, 'Ready=Unknown and the NoSchedule taint', (n) => ready(n)?.status === 'Unknown' && taints(n).length > 0);
    expect(ready(unknown)?.reason).toBe('NodeStatusUnknown');
    expect(taints(unknown)).toEqual(['node.kubernetes.io/unreachable:NoSchedule']);
    expect(await metricValue(cloud.registry, 'kedge_nodelifecycle_unknown_nodes')).toBe(1);

    // however long it stays away, its pods stay
    clock.advance(24 * 3_600_000);
    await controller.check();
    await controller.check();
    expect(taints(await cloud.core.readNode({ name: 'edge-a' }))).toEqual(['node.kubernetes.io/unreachable:NoSchedule']);
    expect(await podGone(cloud.core, 'p1')).toBe(false);

    // it comes back: the lease is renewed, the taint goes, the edge reports Ready itself
    await renewLease(cloud, 'edge-a');
    await until(controller, cloud.core, 'the taint to be removed', (n) => taints(n).length === 0);
    await setReady(cloud, 'edge-a', 'True');
    await controller.check();
    expect(ready(await cloud.core.readNode({ name: 'edge-a' }))?.status).toBe('True');
    expect(await metricValue(cloud.registry, 'kedge_nodelifecycle_unknown_nodes')).toBe(0);
  });

  it('a non-autonomous node also gets NoExecute and loses non-tolerating pods after the eviction timeout', async () => {
    const cloud = await startCluster(cleanup);
    await registerEdgeNode(cloud, 'edge-a', false);
    await renewLease(cloud, 'edge-a');
    await createNamespace(cloud.core, 'apps');
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: podSpec('plain', 'apps', 'edge-a') });
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: tolerating(podSpec('tolerant', 'apps', 'edge-a')) });
    await cloud.core.createNamespacedPod({ namespace: 'apps', body: tolerating(podSpec('brief', 'apps', 'edge-a'), 60) });
    const clock = manualClock();
    const controller = lifecycle(cloud, clock, 30_000);
    await controller.check();

    clock.advance(2_000);
    const unknown = await until(controller, cloud.core, 'both unreachable taints', (n) => taints(n).length === 2);
    expect(ready(unknown)?.status).toBe('Unknown');
    expect(taints(unknown)).toEqual(['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    expect(await podGone(cloud.core, 'plain')).toBe(false);

    clock.advance(31_000);
    await waitFor(async () => {
      await controller.check();
      return podGone(cloud.core, 'plain');
    }, 'the non-tolerating pod to be evicted');
    expect(await podGone(cloud.core, 'brief')).toBe(false);

    clock.advance(60_000);
    await waitFor(async () => {
      await controller.check();
      return podGone(cloud.core, 'brief');
    }, 'the pod tolerating 60 s to be evicted');
    expect(await podGone(cloud.core, 'tolerant')).toBe(false);
  });
});
