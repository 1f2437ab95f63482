// kubectl drain of an edge node end to end: cloudcore (embedded API server, scheduler, workload and
// disruption controllers) and an edgecore running real pods on a private containerd. A Deployment whose
// PodDisruptionBudget allows one disruption, a DaemonSet pod, a bare pod and an emptyDir pod are on the
// edge; `kubectl drain --ignore-daemonsets --delete-emptydir-data --force` evicts through pods/eviction
// (protobuf), the edge stops each pod and confirms, and the Deployment's second pod waits on 429s (its
// replacement cannot be scheduled anywhere, so the budget stays at 0) until the budget is relaxed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from './cluster';
import { fetchMetrics, kubectl, kubectlOk, metricSum, stopAll, waitFor } from './harness';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-drain';
const LOOP = 'while true; do sleep 1 & wait $!; done';

const WORKLOADS = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: plant-web, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: plant-web}}
  template:
    metadata: {labels: {app: plant-web}}
    spec:
      nodeSelector: {site: plant}
      terminationGracePeriodSeconds: 1
      containers:
      - {name: web, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, '${LOOP}']}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: plant-web, namespace: default}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: plant-web}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: plant-agent, namespace: default}
spec:
  selector: {matchLabels: {app: plant-agent}}
  template:
    metadata: {labels: {app: plant-agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: agent, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, '${LOOP}']}
---
apiVersion: v1
kind: Pod
metadata: {name: scratch, namespace: default, labels: {app: scratch}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 1
  volumes: [{name: tmp, emptyDir: {}}]
  containers:
  - {name: app, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, '${LOOP}'], volumeMounts: [{name: tmp, mountPath: /scratch}]}
`;

needs.describe('drain - kubectl drain of an edge node with real pods', () => {
  let dir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cloud.kubeconfig });
  const podsOn = async (selector: string): Promise<Array<{ name: string; node: string; phase: string; deleting: boolean }>> => {
    const out = JSON.parse(await kubectlOk(admin(), ['get', 'pods', '-l', selector, '-o', 'json'])) as {
      items: Array<{ metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string } }>;
    };
    return out.items.map((pod) => ({ name: pod.metadata.name, node: pod.spec.nodeName ?? '', phase: pod.status.phase ?? '', deleting: pod.metadata.deletionTimestamp !== undefined }));
  };
  const budget = async (): Promise<{ disruptionsAllowed: number; currentHealthy: number; desiredHealthy: number; expectedPods: number }> =>
    (JSON.parse(await kubectlOk(admin(), ['get', 'pdb', 'plant-web', '-o', 'json'])) as { status: { disruptionsAllowed: number; currentHealthy: number; desiredHealthy: number; expectedPods: number } }).status;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kdr-'));
    containerd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.219.0/24', bridgeName: 'kedge-cni-dr' });
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
    await cloud.process.waitForLog((l) => l.msg === 'workload controllers and scheduler running', 'controllers running');
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
    await waitFor(
      async () => (await kubectl(admin(), ['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True',
      'the node Ready',
      { intervalMs: 200, timeoutMs: 60_000 },
    );
    await kubectlOk(admin(), ['label', 'node', NODE, 'site=plant']);
  });

  afterAll(async () => {
    await stopAll();
    const report = await containerd?.stop();
    if (report !== undefined) expect(existsSync('/sys/class/net/kedge-cni-dr')).toBe(false);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('drain - evicts within the budget, retries on 429 until the budget allows, leaves the DaemonSet pod; uncordon brings the replicas back', async () => {
    await kubectlOk(admin(), ['apply', '-f', '-'], WORKLOADS);
    await waitFor(
      async () => {
        const pods = await podsOn('app in (plant-web, plant-agent, scratch)');
        return pods.length === 4 && pods.every((pod) => pod.node === NODE && pod.phase === 'Running');
      },
      'four pods Running on the edge',
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await waitFor(async () => (await budget()).disruptionsAllowed === 1, 'the budget allows one disruption', { timeoutMs: 30_000, intervalMs: 300 });
    expect(await budget()).toMatchObject({ expectedPods: 2, desiredHealthy: 1, currentHealthy: 2 });

    let output = '';
    const drain = spawn('kubectl', ['--kubeconfig', cloud.kubeconfig, 'drain', NODE, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=240s'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    drain.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    drain.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => drain.once('exit', resolve));
    try {
      // the first web pod, the bare pod and the emptyDir pod go; the second web pod meets the budget
      await waitFor(() => output.includes('will retry after 5s'), 'kubectl drain retrying on a 429', { timeoutMs: 90_000, intervalMs: 300 });
      expect(output).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
      expect(output).toContain('ignoring DaemonSet-managed Pods: default/plant-agent-');
      expect(output).toContain('deleting Pods that declare no controller: default/scratch');
      await waitFor(async () => (await kubectl(admin(), ['get', 'pod', 'scratch'])).code !== 0, 'the emptyDir pod stopped at the edge and gone', { timeoutMs: 60_000, intervalMs: 500 });
      const web = await podsOn('app=plant-web');
      // the replacement has nowhere to go (the only plant node is cordoned): Pending, unbound
      expect(web.filter((pod) => pod.node === '' && pod.phase === 'Pending')).toHaveLength(1);
      expect(await budget()).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 1 });
      expect(drain.exitCode).toBeNull();

      await kubectlOk(admin(), ['patch', 'pdb', 'plant-web', '--type=merge', '-p', '{"spec":{"minAvailable":0}}']);
      const code = await exited;
      expect(code, output).toBe(0);
      expect(output).toContain(`node/${NODE} drained`);
    } finally {
      if (drain.exitCode === null) drain.kill();
    }
    const left = await podsOn('app in (plant-web, plant-agent, scratch)');
    expect(left.filter((pod) => pod.node === NODE).map((pod) => pod.name)).toEqual([expect.stringMatching(/^plant-agent-/)]);
    expect(await kubectlOk(admin(), ['get', 'node', NODE, '-o', 'jsonpath={.spec.unschedulable}'])).toBe('true');

    await kubectlOk(admin(), ['uncordon', NODE]);
    await waitFor(
      async () => {
        const web = await podsOn('app=plant-web');
        return web.length === 2 && web.every((pod) => pod.node === NODE && pod.phase === 'Running' && !pod.deleting);
      },
      'both web replicas Running on the edge again',
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricSum(metrics, 'apiserver_request_total', { resource: 'pods', code: '429' })).toBeGreaterThan(0);
    expect(metricSum(metrics, 'kedge_workload_reconciles_total', { controller: 'disruption', result: 'success' })).toBeGreaterThan(0);
  });
});
