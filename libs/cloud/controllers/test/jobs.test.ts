// Jobs against a real API server, created with the real kubectl. There is no node agent here, so the
// test plays the kubelet: it writes pods' terminal status (phase, container exit codes) through
// pods/status as a kubelet would. Status transitions are watched through client-node informers
// (the controllers' own) and read back with kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, makeInformer, type V1Job } from '@kubernetes/client-node';
import { mergePatch } from '@kedge/kube-client';
import { waitFor } from '@kedge/testkit';
import { live, WorkloadTestCluster, type PodView } from './harness';

let cluster: WorkloadTestCluster;
let batch: BatchV1Api;
/** every Job status the informer saw, per Job name, in order */
const seen = new Map<string, Array<V1Job['status']>>();
let stopInformer: () => void = () => undefined;

beforeAll(async () => {
  cluster = await WorkloadTestCluster.start({ jobPodFailureBackoff: { baseMs: 100, maxMs: 400 } });
  batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
  await cluster.addNode('edge-a', { labels: { 'node-role.kubernetes.io/edge': '' } });
  await cluster.addNode('edge-b', { labels: { 'node-role.kubernetes.io/edge': '' } });
  cluster.startKubelets();
  const informer = makeInformer(cluster.kubeConfig, '/apis/batch/v1/namespaces/default/jobs', () => batch.listNamespacedJob({ namespace: 'default' }));
  const record = (job: V1Job): void => {
    const name = job.metadata?.name ?? '';
    seen.set(name, [...(seen.get(name) ?? []), job.status]);
  };
  informer.on('add', record);
  informer.on('update', record);
  await informer.start();
  stopInformer = () => void informer.stop();
});

afterAll(async () => {
  stopInformer();
  await cluster?.close();
});

function jobYaml(name: string, spec: string, restartPolicy = 'Never'): string {
  return `apiVersion: batch/v1
kind: Job
metadata:
  name: ${name}
spec:
${spec
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => `  ${line}`)
  .join('\n')}
  template:
    spec:
      restartPolicy: ${restartPolicy}
      containers:
      - name: work
        image: busybox:1.36
        command: ["sh", "-c", "exit 0"]
`;
}

const running = (pods: PodView[]): PodView[] => live(pods).filter((pod) => pod.status?.phase === 'Running');

async function jobStatus(name: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return ((await cluster.getJson('job', name)) as { status: Record<string, unknown> }).status;
}

async function waitForCondition(name: string, type: string, timeoutMs = 60_000): Promise<void> {
  const result = await cluster.kubectl(['wait', `job/${name}`, `--for=condition=${type}`, `--timeout=${Math.round(timeoutMs / 1000)}s`], { timeoutMs: timeoutMs + 10_000 });
  expect(result.code, `${result.stderr}${JSON.stringify(await jobStatus(name))}`).toBe(0);
}

describe('job controller', () => {
  it('job - completions 3 with parallelism 2 runs at most 2 pods at a time and completes', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('three', 'completions: 3\nparallelism: 2'));
    const selector = 'batch.kubernetes.io/job-name=three';
    let maxActive = 0;
    const first = await cluster.waitForPods(selector, 'two running pods', (pods) => running(pods).length === 2);
    for (const pod of first) {
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: 'three' });
      expect(pod.metadata.labels).toMatchObject({ 'job-name': 'three', 'batch.kubernetes.io/job-name': 'three' });
      expect(pod.metadata.name).toMatch(/^three-[a-z0-9]{5}$/);
    }
    const job = await cluster.getJson('job', 'three');
    expect(first[0]?.metadata.labels?.['batch.kubernetes.io/controller-uid']).toBe(job['metadata'].uid);
    for (const pod of first) await cluster.finishPod(pod.metadata.name, 0);
    const third = await cluster.waitForPods(selector, 'a third pod', (pods) => {
      maxActive = Math.max(maxActive, live(pods).filter((pod) => pod.status?.phase !== 'Succeeded').length);
      return pods.length === 3 && running(pods).length === 1;
    });
    const last = running(third)[0]!;
    await cluster.finishPod(last.metadata.name, 0);
    await waitForCondition('three', 'complete');
    const status = await jobStatus('three');
    expect(status).toMatchObject({ succeeded: 3, failed: 0, active: 0 });
    expect(status['completionTime']).toBeDefined();
    expect(status['startTime']).toBeDefined();
    expect(maxActive).toBeLessThanOrEqual(2);
    // every finished pod was counted, and then released: no tracking finalizer left
    await waitFor(async () => (await cluster.pods(selector)).every((pod) => ((pod.metadata as { finalizers?: string[] }).finalizers ?? []).length === 0), 'finalizers released');
    expect(seen.get('three')?.some((observed) => observed?.active === 2)).toBe(true);
    expect(seen.get('three')?.some((observed) => (observed?.uncountedTerminatedPods?.succeeded ?? []).length > 0)).toBe(true);
    const events = await cluster.run(['get', 'events', '--field-selector', 'involvedObject.name=three,involvedObject.kind=Job', '-o', 'jsonpath={.items[*].reason}']);
    expect(events).toContain('SuccessfulCreate');
    expect(events).toContain('Completed');
    expect(await cluster.run(['get', 'job', 'three'])).toMatch(/three\s+Complete\s+3\/3/);
    expect(await cluster.registry.getSingleMetricAsString('kedge_workload_reconciles_total')).toMatch(/controller="job",result="success"\} [1-9]/);
  });

  it('job - backoffLimit 1: the second failed pod fails the job with BackoffLimitExceeded', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('flaky', 'backoffLimit: 1'));
    const selector = 'batch.kubernetes.io/job-name=flaky';
    const [first] = await cluster.waitForPods(selector, 'a running pod', (pods) => running(pods).length === 1);
    await cluster.finishPod(first!.metadata.name, 1);
    const pods = await cluster.waitForPods(selector, 'a replacement', (found) => running(found).some((pod) => pod.metadata.name !== first!.metadata.name));
    const second = running(pods).find((pod) => pod.metadata.name !== first!.metadata.name)!;
    await waitFor(async () => (await jobStatus('flaky'))['failed'] === 1, 'one failure counted');
    await cluster.finishPod(second.metadata.name, 1);
    await waitForCondition('flaky', 'failed');
    const status = await jobStatus('flaky');
    expect(status['failed']).toBe(2);
    expect(status['conditions']).toContainEqual(expect.objectContaining({ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }));
    expect(live(await cluster.pods(selector)).filter((pod) => pod.status?.phase === 'Running')).toHaveLength(0);
  });

  it('job - restartPolicy OnFailure: container restarts in place count against backoffLimit', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('restarting', 'backoffLimit: 2', 'OnFailure'));
    const [pod] = await cluster.waitForPods('batch.kubernetes.io/job-name=restarting', 'a running pod', (pods) => running(pods).length === 1);
    // what a kubelet reports after restarting the container twice (edged restarts OnFailure containers the same way)
    const containerStatuses = [{ name: 'work', image: 'busybox:1.36', imageID: '', ready: true, restartCount: 2, state: { running: { startedAt: new Date().toISOString() } } }];
    await cluster.core.patchNamespacedPodStatus({ name: pod!.metadata.name, namespace: 'default', body: { status: { containerStatuses } } }, mergePatch());
    await waitForCondition('restarting', 'failed');
    expect((await jobStatus('restarting'))['conditions']).toContainEqual(expect.objectContaining({ type: 'Failed', reason: 'BackoffLimitExceeded' }));
  });

  it('job - activeDeadlineSeconds fails the job with DeadlineExceeded and stops its pods', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('slow', 'activeDeadlineSeconds: 2'));
    await cluster.waitForPods('batch.kubernetes.io/job-name=slow', 'a running pod', (pods) => running(pods).length === 1);
    await waitForCondition('slow', 'failed');
    expect((await jobStatus('slow'))['conditions']).toContainEqual(expect.objectContaining({ type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }));
    await cluster.waitForPods('batch.kubernetes.io/job-name=slow', 'no pod left running', (pods) => running(pods).length === 0);
  });

  it('job - podFailurePolicy: Ignore on DisruptionTarget does not count, FailJob on exit code 42 fails at once', async () => {
    const policy = `backoffLimit: 6
podFailurePolicy:
  rules:
  - action: Ignore
    onPodConditions:
    - type: DisruptionTarget
  - action: FailJob
    onExitCodes:
      containerName: work
      operator: In
      values: [42]`;
    await cluster.run(['apply', '-f', '-'], jobYaml('policy', policy));
    const selector = 'batch.kubernetes.io/job-name=policy';
    const [first] = await cluster.waitForPods(selector, 'a running pod', (pods) => running(pods).length === 1);
    await cluster.finishPod(first!.metadata.name, 137, { conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager' }] });
    const pods = await cluster.waitForPods(selector, 'a replacement', (found) => running(found).some((pod) => pod.metadata.name !== first!.metadata.name));
    expect((await jobStatus('policy'))['failed'] ?? 0).toBe(0);
    const second = running(pods).find((pod) => pod.metadata.name !== first!.metadata.name)!;
    await cluster.finishPod(second.metadata.name, 42);
    await waitForCondition('policy', 'failed');
    const status = await jobStatus('policy');
    expect(status['failed']).toBe(1);
    expect(status['conditions']).toContainEqual(
      expect.objectContaining({ type: 'Failed', reason: 'PodFailurePolicy', message: `Container work for pod default/${second.metadata.name} failed with exit code 42 matching FailJob rule at index 1` }),
    );
  });

  it('job - the API server refuses a podFailurePolicy with restartPolicy OnFailure, naming the field', async () => {
    const result = await cluster.kubectl(['apply', '-f', '-'], { input: jobYaml('bad', 'podFailurePolicy:\n  rules:\n  - action: Count\n    onExitCodes: {operator: In, values: [1]}', 'OnFailure') });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('spec.template.spec.restartPolicy');
  });

  it('job - ttlSecondsAfterFinished deletes the finished job and its pods', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('short-lived', 'ttlSecondsAfterFinished: 1'));
    const [pod] = await cluster.waitForPods('batch.kubernetes.io/job-name=short-lived', 'a running pod', (pods) => running(pods).length === 1);
    await cluster.finishPod(pod!.metadata.name, 0);
    await waitFor(async () => (await cluster.kubectl(['get', 'job', 'short-lived'])).stderr.includes('NotFound'), 'the job deleted', { timeoutMs: 60_000 });
    await cluster.waitForPods('batch.kubernetes.io/job-name=short-lived', 'its pods deleted', (pods) => pods.length === 0);
  });

  it('job - Indexed: one pod per index with the index annotation, label, env and hostname; completedIndexes', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('indexed', 'completions: 3\nparallelism: 3\ncompletionMode: Indexed'));
    const selector = 'batch.kubernetes.io/job-name=indexed';
    const pods = await cluster.waitForPods(selector, 'three running pods', (found) => running(found).length === 3);
    const byIndex = new Map<string, PodView>();
    for (const pod of pods) {
      const full = await cluster.getJson('pod', pod.metadata.name);
      const index = full['metadata'].annotations['batch.kubernetes.io/job-completion-index'];
      expect(full['metadata'].labels['batch.kubernetes.io/job-completion-index']).toBe(index);
      expect(full['spec'].hostname).toBe(`indexed-${index}`);
      expect(full['spec'].containers[0].env).toContainEqual({ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } });
      expect(pod.metadata.name).toMatch(new RegExp(`^indexed-${index}-[a-z0-9]{5}$`));
      byIndex.set(index, pod);
    }
    expect([...byIndex.keys()].sort()).toEqual(['0', '1', '2']);
    await cluster.finishPod(byIndex.get('1')!.metadata.name, 0);
    await waitFor(async () => (await jobStatus('indexed'))['completedIndexes'] === '1', 'index 1 completed');
    await cluster.finishPod(byIndex.get('0')!.metadata.name, 0);
    await cluster.finishPod(byIndex.get('2')!.metadata.name, 0);
    await waitForCondition('indexed', 'complete');
    expect(await jobStatus('indexed')).toMatchObject({ completedIndexes: '0-2', succeeded: 3 });
  });

  it('job - suspend: no pods while suspended, Suspended condition; resuming starts them', async () => {
    await cluster.run(['apply', '-f', '-'], jobYaml('paused', 'suspend: true'));
    await waitFor(async () => ((await jobStatus('paused'))['conditions'] ?? []).some((condition: { type: string; status: string }) => condition.type === 'Suspended' && condition.status === 'True'), 'Suspended');
    expect(await cluster.pods('batch.kubernetes.io/job-name=paused')).toHaveLength(0);
    await cluster.run(['patch', 'job', 'paused', '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    await cluster.waitForPods('batch.kubernetes.io/job-name=paused', 'a running pod', (pods) => running(pods).length === 1);
    expect((await jobStatus('paused'))['conditions']).toContainEqual(expect.objectContaining({ type: 'Suspended', status: 'False', reason: 'JobResumed' }));
  });

  it('job - a pod on a disconnected edge node stays active and is not run twice until the node is deleted', async () => {
    await cluster.addNode('edge-lonely', { labels: { 'node-role.kubernetes.io/edge': '', lonely: 'yes' } });
    const yaml = jobYaml('edge-once', '').replace('    spec:\n      restartPolicy', '    spec:\n      nodeSelector:\n        lonely: "yes"\n      restartPolicy');
    await cluster.run(['apply', '-f', '-'], yaml);
    const selector = 'batch.kubernetes.io/job-name=edge-once';
    const [pod] = await cluster.waitForPods(selector, 'a running pod on edge-lonely', (pods) => running(pods).length === 1);
    expect(pod?.spec.nodeName).toBe('edge-lonely');
    // the link drops: the kubelet goes quiet and NodeLifecycle marks the node unreachable
    cluster.silentNodes.add('edge-lonely');
    await cluster.setNodeReady('edge-lonely', 'Unknown');
    await cluster.controllers.idle();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await cluster.pods(selector)).toHaveLength(1);
    expect(await jobStatus('edge-once')).toMatchObject({ active: 1 });
    // the node is declared gone: its pod is deleted and a replacement is made
    await cluster.run(['delete', 'node', 'edge-lonely']);
    await cluster.waitForPods(selector, 'the old pod gone and a pending replacement', (pods) => pods.length === 1 && pods[0]?.metadata.name !== pod?.metadata.name);
    await waitFor(async () => (await jobStatus('edge-once'))['failed'] === 1, 'the lost pod counted as failed');
  });
});
