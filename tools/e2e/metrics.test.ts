// Resource metrics end to end with the real processes on a PRIVATE containerd: edged collects CPU and
// memory through CRI and /proc, cloudcore's embedded API server scrapes each edge's /metrics/resource
// over the hub (cloudstream's node queries) and serves metrics.k8s.io, and the real kubectl top shows
// the edge node and a pod burning CPU. edgecore's own /metrics carries the same figures as gauges.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle } from './cluster';
import { fetchMetrics, kubectl, kubectlOk, metricValue, stopAll, waitFor } from './harness';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-metrics';

needs.describe('metrics - kubectl top for an edge node and its pods', () => {
  let dir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle;
  let edge: EdgeCoreHandle;
  let edgeMetricsPort: number;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cloud.kubeconfig });

  beforeAll(async () => {
    // short: containerd's socket path must fit in 108 bytes
    dir = await mkdtemp(join(tmpdir(), 'kme-'));
    containerd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.227.0/24', bridgeName: 'kedge-cni-mt' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    cloud = await startCloudCore({ metricsScrapeIntervalSeconds: 1 });
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir);
    edge = startEdgeCore(cloud, {
      nodeName: NODE,
      token: await issueToken(cloud, ['--node', NODE]),
      dataDir: edgeDir,
      edged: { containerRuntimeEndpoint: `unix://${containerd.socketPath}` },
    });
    const ready = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    edgeMetricsPort = (ready.ports as { metrics: number }).metrics;
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
    await waitFor(async () => (await kubectl(admin(), ['get', 'node', NODE])).code === 0, 'the node registered', { intervalMs: 200 });
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: {name: burner, namespace: default, labels: {app: burner}}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 0
  containers:
  # a third of a core: enough to stand out, little enough not to starve the suites running beside this one
  - {name: burn, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, 'while :; do :; done'], resources: {limits: {cpu: 300m}}}
  - {name: idle, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, 'while true; do sleep 1 & wait $!; done']}
`,
    );
    await waitFor(
      async () => (await kubectl(admin(), ['get', 'pod', 'burner', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running',
      'burner Running',
      { intervalMs: 200, timeoutMs: 60_000 },
    );
  }, 180_000);

  afterAll(async () => {
    await stopAll();
    const report = await containerd?.stop();
    if (report !== undefined) expect(existsSync('/sys/class/net/kedge-cni-mt')).toBe(false);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('metrics - edgecore exports the node and the burning pod, whose CPU time grows between scrapes', async () => {
    const podCpu = async (): Promise<number> => metricValue(await fetchMetrics(edgeMetricsPort), 'kedge_edged_pod_cpu_usage_seconds_total', { namespace: 'default', pod: 'burner' }) ?? 0;
    await waitFor(async () => (await podCpu()) > 0, 'the burner in edgecore metrics', { intervalMs: 300, timeoutMs: 30_000 });
    const first = await podCpu();
    await waitFor(async () => (await podCpu()) > first + 0.2, 'the burner CPU time growing', { intervalMs: 300, timeoutMs: 30_000 });
    const text = await fetchMetrics(edgeMetricsPort);
    expect(metricValue(text, 'kedge_edged_node_cpu_usage_seconds_total') ?? 0).toBeGreaterThan(0);
    expect(metricValue(text, 'kedge_edged_node_memory_working_set_bytes') ?? 0).toBeGreaterThan(0);
    expect(metricValue(text, 'kedge_edged_pod_memory_working_set_bytes', { namespace: 'default', pod: 'burner' }) ?? 0).toBeGreaterThan(0);
  });

  it('metrics - kubectl top node shows the edge node', async () => {
    let output = '';
    await waitFor(
      async () => {
        const result = await kubectl(admin(), ['top', 'node', NODE]);
        output = result.stdout + result.stderr;
        return result.code === 0;
      },
      'kubectl top node to answer',
      { intervalMs: 500, timeoutMs: 60_000 },
    );
    expect(output).toMatch(new RegExp(`^${NODE}\\s+\\d+m\\s+\\S+\\s+\\d+Mi\\s+`, 'm'));
    const raw = await kubectlOk(admin(), ['get', '--raw', `/apis/metrics.k8s.io/v1beta1/nodes/${NODE}`]);
    const nodeMetrics = JSON.parse(raw) as { usage: { cpu: string; memory: string }; window: string };
    expect(nodeMetrics.usage.cpu).toMatch(/^\d+n$/);
    expect(nodeMetrics.usage.memory).toMatch(/^\d+Ki$/);
    expect(nodeMetrics.window).toMatch(/s$/);
  });

  it('metrics - kubectl top pod shows the burning container at its CPU limit and the idle one below it', async () => {
    const millicores = (output: string, container: string): number => Number(new RegExp(`^burner\\s+${container}\\s+(\\d+)m`, 'm').exec(output)?.[1] ?? -1);
    let output = '';
    await waitFor(
      async () => {
        const result = await kubectl(admin(), ['top', 'pod', 'burner', '--containers']);
        output = result.stdout;
        // the limit is 300m; the machine is shared, so "burning" is anything clearly above idle. Each container
        // shows once it has two scrapes, so the idle one may come a scrape after the burner: wait for both
        return result.code === 0 && millicores(output, 'burn') > 100 && millicores(output, 'idle') >= 0;
      },
      'kubectl top pod to show the burner',
      { intervalMs: 500, timeoutMs: 60_000 },
    );
    // the rate between two scrapes matches what the kernel allows the container: its 300m limit
    expect(millicores(output, 'burn')).toBeLessThan(450);
    if (process.env['KEDGE_TEST_LOG'] === '1') console.log(output);
    expect(millicores(output, 'idle')).toBeGreaterThanOrEqual(0);
    expect(millicores(output, 'idle')).toBeLessThan(millicores(output, 'burn'));
    const byLabel = await kubectlOk(admin(), ['top', 'pod', '-A', '-l', 'app=burner']);
    expect(byLabel).toMatch(/^default\s+burner\s+\d+m\s+\d+Mi/m);
    const scrapes = metricValue(await fetchMetrics(cloud.ports.metrics), 'kedge_cloudstream_node_queries_total', { target: 'metrics-resource', result: 'ok' }) ?? 0;
    expect(scrapes).toBeGreaterThan(1);
  });
});
