// Jobs, CronJobs and StatefulSets end to end: a real cloudcore (embedded API server, its Job, CronJob,
// StatefulSet controllers and scheduler) and a real edgecore whose edged runs the pods on a PRIVATE
// containerd; everything is driven with the real kubectl.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from './cluster';
import { kubectl, kubectlOk, stopAll, waitFor } from './harness';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-batch';

needs.describe('batch workloads - Jobs, CronJobs and StatefulSets on a real edge', () => {
  let dir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cloud.kubeconfig });
  const json = async (kind: string, name: string): Promise<Record<string, any>> => JSON.parse(await kubectlOk(admin(), ['get', kind, name, '-o', 'json'])) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    // short: containerd's socket path must fit in 108 bytes
    dir = await mkdtemp(join(tmpdir(), 'kbw-'));
    // own subnet and bridge: other suites may run a private containerd at the same time
    containerd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.214.0/24', bridgeName: 'kedge-cni-bw' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    cloud = await startCloudCore();
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir);
    startEdgeCore(cloud, {
      nodeName: NODE,
      token: await issueToken(cloud, ['--node', NODE]),
      dataDir: edgeDir,
      edged: { containerRuntimeEndpoint: `unix://${containerd.socketPath}`, restartBackoffBaseMs: 200 },
    });
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
    await waitFor(
      async () => (await kubectl(admin(), ['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True',
      'the node Ready',
      { intervalMs: 200, timeoutMs: 60_000 },
    );
  });

  afterAll(async () => {
    await stopAll();
    await containerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an Indexed Job of 2 runs each index once on the edge, with JOB_COMPLETION_INDEX, and completes', async () => {
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: batch/v1
kind: Job
metadata: {name: count, namespace: default}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: work, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, 'echo "index=$JOB_COMPLETION_INDEX"; test -n "$JOB_COMPLETION_INDEX"']}
`,
    );
    const wait = await kubectl(admin(), ['wait', 'job/count', '--for=condition=complete', '--timeout=120s']);
    expect(wait.code, `${wait.stderr}${JSON.stringify((await json('job', 'count'))['status'])}`).toBe(0);
    expect((await json('job', 'count'))['status']).toMatchObject({ succeeded: 2, failed: 0, completedIndexes: '0-1' });
    const pods = JSON.parse(await kubectlOk(admin(), ['get', 'pods', '-l', 'job-name=count', '-o', 'json'])) as { items: Array<{ metadata: { name: string }; spec: { nodeName: string }; status: { phase: string } }> };
    expect(pods.items.map((pod) => [pod.spec.nodeName, pod.status.phase])).toEqual([
      [NODE, 'Succeeded'],
      [NODE, 'Succeeded'],
    ]);
    const logs = await Promise.all(pods.items.map((pod) => kubectlOk(admin(), ['logs', pod.metadata.name])));
    expect(logs.map((log) => log.trim()).sort()).toEqual(['index=0', 'index=1']);
    expect(await kubectlOk(admin(), ['get', 'job', 'count'])).toMatch(/count\s+Complete\s+2\/2/);
  }, 180_000);

  it('kubectl create job --from=cronjob/<name> runs the CronJob template now, owned by the CronJob', async () => {
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: default}
spec:
  schedule: "0 3 1 1 *"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: report, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, 'exit 0']}
`,
    );
    await kubectlOk(admin(), ['create', 'job', 'nightly-now', '--from=cronjob/nightly']);
    const job = await json('job', 'nightly-now');
    expect(job['metadata'].annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(job['metadata'].ownerReferences[0]).toMatchObject({ kind: 'CronJob', name: 'nightly', controller: true });
    const wait = await kubectl(admin(), ['wait', 'job/nightly-now', '--for=condition=complete', '--timeout=120s']);
    expect(wait.code, wait.stderr).toBe(0);
    await waitFor(async () => (await json('cronjob', 'nightly'))['status']?.lastSuccessfulTime !== undefined, 'the CronJob saw the success', { timeoutMs: 30_000 });
    expect(await kubectlOk(admin(), ['get', 'cronjob', 'nightly'])).toMatch(/nightly\s+0 3 1 1 \*\s+Europe\/Berlin\s+False\s+0/);
  }, 180_000);

  it('a StatefulSet of 2 comes up in order with stable names and rollout status succeeds', async () => {
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - {name: db, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, 'while true; do sleep 1 & wait $!; done']}
`,
    );
    const rollout = await kubectl(admin(), ['rollout', 'status', 'sts/db', '--timeout=120s']);
    expect(rollout.code, rollout.stderr).toBe(0);
    expect(rollout.stdout).toContain('partitioned roll out complete: 2 new pods have been updated');
    const first = await json('pod', 'db-0');
    const second = await json('pod', 'db-1');
    expect([first['status'].phase, second['status'].phase]).toEqual(['Running', 'Running']);
    expect([first['spec'].nodeName, second['spec'].nodeName]).toEqual([NODE, NODE]);
    expect(second['metadata'].labels).toMatchObject({ 'statefulset.kubernetes.io/pod-name': 'db-1', 'apps.kubernetes.io/pod-index': '1' });
    // OrderedReady: db-1 was made only once db-0 was ready
    const ready0 = (first['status'].conditions as Array<{ type: string; lastTransitionTime: string }>).find((condition) => condition.type === 'Ready')!.lastTransitionTime;
    expect(Date.parse(second['metadata'].creationTimestamp)).toBeGreaterThanOrEqual(Date.parse(ready0));
    const status = (await json('sts', 'db'))['status'];
    expect(status).toMatchObject({ replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2 });
    expect(status.currentRevision).toBe(status.updateRevision);
    expect(await kubectlOk(admin(), ['get', 'controllerrevisions', '-o', 'jsonpath={.items[*].metadata.name}'])).toBe(status.updateRevision);
  }, 180_000);
});
