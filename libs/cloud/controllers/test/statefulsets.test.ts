// StatefulSets against a real API server, driven by the real kubectl, with fake kubelets that report
// pods Running+Ready (harness). A client-node informer on the pods records the order in which they
// appear and go, which is what OrderedReady promises.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '@kedge/testkit';
import { live, WorkloadTestCluster } from './harness';

let cluster: WorkloadTestCluster;
/** pod events in order: [event, pod name, ready pods at that moment] */
const timeline: Array<{ event: string; pod: string; ready: string[] }> = [];
const readyNow = new Set<string>();
/** pods whose deletion the timeline already has (cleared when a pod of that name is added again) */
const deletingSeen = new Set<string>();
let stopInformer: () => void = () => undefined;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start();
  await cluster.addNode('edge-a', { labels: { 'node-role.kubernetes.io/edge': '', zone: 'edge' } });
  await cluster.addNode('edge-b', { labels: { 'node-role.kubernetes.io/edge': '', zone: 'edge' } });
  cluster.startKubelets();
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const informer = makeInformer(cluster.kubeConfig, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default' }));
  const record = (event: string) => (pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    const ready = pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
    if (event === 'update' && pod.metadata?.deletionTimestamp !== undefined && !deletingSeen.has(name)) {
      deletingSeen.add(name);
      timeline.push({ event: 'deleting', pod: name, ready: [...readyNow] });
    }
    if (event === 'add') {
      deletingSeen.delete(name);
      timeline.push({ event, pod: name, ready: [...readyNow] });
    }
    if (ready && event !== 'delete' && pod.metadata?.deletionTimestamp === undefined) readyNow.add(name);
    else readyNow.delete(name);
  };
  informer.on('add', record('add'));
  informer.on('update', record('update'));
  informer.on('delete', record('delete'));
  await informer.start();
  stopInformer = () => void informer.stop();
});

afterAll(async () => {
  stopInformer();
  await cluster?.close();
});

function statefulSet(name: string, options: { replicas?: number; policy?: string; image?: string; nodeSelector?: string; extra?: string } = {}): string {
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: ${name}
spec:
  replicas: ${options.replicas ?? 3}
  serviceName: ${name}
  podManagementPolicy: ${options.policy ?? 'OrderedReady'}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      nodeSelector:
        ${options.nodeSelector ?? 'zone: edge'}
      containers:
      - name: app
        image: ${options.image ?? 'busybox:1.36'}
${options.extra ?? ''}`;
}

async function rolloutStatus(name: string): Promise<string> {
  const result = await cluster.kubectl(['rollout', 'status', `sts/${name}`, '--timeout=60s'], { timeoutMs: 70_000 });
  expect(result.code, `${result.stderr}${JSON.stringify((await cluster.getJson('sts', name))['status'])}`).toBe(0);
  return result.stdout;
}

async function revisionLabels(app: string): Promise<Record<string, string>> {
  const pods = live(await cluster.pods(`app=${app}`));
  return Object.fromEntries(pods.map((pod) => [pod.metadata.name, pod.metadata.labels?.['controller-revision-hash'] ?? '']));
}

describe('statefulset controller', () => {
  it('statefulset - OrderedReady creates web-0, web-1, web-2 in order, each after the previous is ready; rollout status succeeds', async () => {
    await cluster.run(['apply', '-f', '-'], statefulSet('web'));
    await rolloutStatus('web');
    const adds = timeline.filter((entry) => entry.event === 'add' && entry.pod.startsWith('web-'));
    expect(adds.map((entry) => entry.pod)).toEqual(['web-0', 'web-1', 'web-2']);
    expect(adds[1]?.ready).toContain('web-0');
    expect(adds[2]?.ready).toEqual(expect.arrayContaining(['web-0', 'web-1']));
    const pod = await cluster.getJson('pod', 'web-1');
    expect(pod['metadata'].labels).toMatchObject({ 'statefulset.kubernetes.io/pod-name': 'web-1', 'apps.kubernetes.io/pod-index': '1' });
    expect(pod['spec']).toMatchObject({ hostname: 'web-1', subdomain: 'web' });
    expect(pod['metadata'].ownerReferences[0]).toMatchObject({ kind: 'StatefulSet', name: 'web', controller: true });
    const status = (await cluster.getJson('sts', 'web'))['status'];
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3 });
    expect(status.currentRevision).toBe(status.updateRevision);
    expect(pod['metadata'].labels['controller-revision-hash']).toBe(status.updateRevision);
    const revisions = JSON.parse(await cluster.run(['get', 'controllerrevisions', '-o', 'json'])) as { items: Array<{ metadata: { name: string }; revision: number }> };
    expect(revisions.items).toContainEqual(expect.objectContaining({ metadata: expect.objectContaining({ name: status.updateRevision }), revision: 1 }));
  });

  it('statefulset - kubectl scale to 1 removes web-2 before web-1', async () => {
    await cluster.run(['scale', 'sts/web', '--replicas=1']);
    await cluster.waitForPods('app=web', 'only web-0 left', (pods) => pods.length === 1 && pods[0]?.metadata.name === 'web-0');
    const deletions = timeline.filter((entry) => entry.event === 'deleting' && entry.pod.startsWith('web-')).map((entry) => entry.pod);
    expect(deletions).toEqual(['web-2', 'web-1']);
  });

  it('statefulset - a rolling update with partition 1 updates web-2 then web-1 and leaves web-0; partition 0 finishes it', async () => {
    await cluster.run(['scale', 'sts/web', '--replicas=3']);
    await rolloutStatus('web');
    const before = await revisionLabels('web');
    await cluster.run(['patch', 'sts', 'web', '--type=merge', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}}}}']);
    const mark = timeline.length;
    await cluster.run(['set', 'image', 'sts/web', 'app=busybox:1.37']);
    const partitioned = await rolloutStatus('web');
    expect(partitioned).toContain('partitioned roll out complete');
    const after = await revisionLabels('web');
    expect(after['web-0']).toBe(before['web-0']);
    expect(after['web-1']).not.toBe(before['web-1']);
    expect(after['web-2']).toBe(after['web-1']);
    const deletions = timeline.slice(mark).filter((entry) => entry.event === 'deleting').map((entry) => entry.pod);
    expect(deletions).toEqual(['web-2', 'web-1']);
    expect((await cluster.getJson('pod', 'web-0'))['spec'].containers[0].image).toBe('busybox:1.36');
    await cluster.run(['patch', 'sts', 'web', '--type=merge', '-p', '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}']);
    await rolloutStatus('web');
    await waitFor(async () => {
      const status = (await cluster.getJson('sts', 'web'))['status'];
      return status.currentRevision === status.updateRevision && status.updatedReplicas === 3;
    }, 'the update complete');
    expect((await cluster.getJson('pod', 'web-0'))['spec'].containers[0].image).toBe('busybox:1.37');
  });

  it('statefulset - kubectl rollout history lists the revisions and rollout undo brings the previous template back as revision 3', async () => {
    const history = await cluster.run(['rollout', 'history', 'sts/web']);
    expect(history).toMatch(/\b1\b/);
    expect(history).toMatch(/\b2\b/);
    await cluster.run(['rollout', 'undo', 'sts/web']);
    await rolloutStatus('web');
    await waitFor(async () => (await cluster.getJson('pod', 'web-0'))['spec'].containers[0].image === 'busybox:1.36', 'web-0 back on 1.36');
    const status = (await cluster.getJson('sts', 'web'))['status'];
    const revision = await cluster.getJson('controllerrevision', status.updateRevision);
    expect(revision['revision']).toBe(3);
    expect(status.currentRevision).toBe(status.updateRevision);
  });

  it('statefulset - Parallel creates every pod at once, even when none becomes ready', async () => {
    await cluster.addNode('edge-quiet', { labels: { 'node-role.kubernetes.io/edge': '', quiet: 'yes' } });
    cluster.silentNodes.add('edge-quiet');
    await cluster.run(['apply', '-f', '-'], statefulSet('par', { policy: 'Parallel', nodeSelector: 'quiet: "yes"' }));
    await cluster.waitForPods('app=par', 'three pods', (pods) => pods.length === 3);
    // the same under OrderedReady stops at the first pod that is not ready
    await cluster.run(['apply', '-f', '-'], statefulSet('ord', { nodeSelector: 'quiet: "yes"' }));
    await cluster.waitForPods('app=ord', 'one pod', (pods) => pods.length === 1);
    await cluster.controllers.idle();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await cluster.pods('app=ord')).map((pod) => pod.metadata.name)).toEqual(['ord-0']);
  });

  it('statefulset - a pod on a disconnected node is not made twice: its delete waits for the edge until the node is deleted', async () => {
    await cluster.addNode('edge-far', { labels: { 'node-role.kubernetes.io/edge': '', far: 'yes' } });
    await cluster.run(['apply', '-f', '-'], statefulSet('solo', { replicas: 1, nodeSelector: 'far: "yes"' }));
    await rolloutStatus('solo');
    const [first] = await cluster.pods('app=solo');
    cluster.silentNodes.add('edge-far');
    await cluster.setNodeReady('edge-far', 'Unknown');
    await cluster.run(['delete', 'pod', 'solo-0', '--wait=false']);
    await cluster.controllers.idle();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const waiting = await cluster.pods('app=solo');
    expect(waiting).toHaveLength(1);
    expect((waiting[0]?.metadata as { uid?: string }).uid).toBe((first?.metadata as { uid?: string }).uid);
    await cluster.run(['delete', 'node', 'edge-far']);
    await cluster.waitForPods('app=solo', 'a new solo-0', (pods) => pods.length === 1 && (pods[0]?.metadata as { uid?: string }).uid !== (first?.metadata as { uid?: string }).uid);
  });

  it('statefulset - volumeClaimTemplates are refused with an InvalidSpec event naming the field', async () => {
    const extra = `  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
`;
    await cluster.run(['apply', '-f', '-'], statefulSet('claims', { replicas: 1, extra }));
    const selector = 'involvedObject.name=claims,reason=InvalidSpec';
    await waitFor(async () => (await cluster.run(['get', 'events', '--field-selector', selector, '-o', 'jsonpath={.items[*].message}'])).includes('spec.volumeClaimTemplates'), 'an InvalidSpec event');
    expect(await cluster.pods('app=claims')).toHaveLength(0);
    expect(await cluster.registry.getSingleMetricAsString('kedge_workload_invalid_specs_total')).toMatch(/controller="statefulset",field="spec.volumeClaimTemplates"/);
  });
});
