// metrics.k8s.io/v1beta1 in the embedded API server, end to end over HTTPS with the real kubectl: the
// scraper reads each Node's /metrics/resource through the source function (here a function answering
// kubelet-format text whose counters advance 0.25 core-seconds per second of measurement time), and
// kubectl top, kubectl get nodes.metrics.k8s.io, label selectors, RBAC and garbage scrapes behave as
// with metrics-server.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, requires, waitFor } from '@kedge/testkit';
import { startTestServer, type TestServer } from '../harness';

const withKubectl = await requires('kubectl');

let test: TestServer;
let registry: Registry;
/** per node: how many times it was scraped; garbage: answer nonsense instead */
const scrapes = new Map<string, number>();
const garbage = new Set<string>();

function resourceMetrics(node: string): string {
  const round = (scrapes.get(node) ?? 0) + 1;
  scrapes.set(node, round);
  if (garbage.has(node)) return 'node_cpu_usage_seconds_total{oops 12\n\u0000garbage';
  const at = 1_800_000_000_000 + round * 1000;
  return [
    '# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds',
    '# TYPE container_cpu_usage_seconds_total counter',
    `container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} ${round * 0.25} ${at}`,
    `container_cpu_usage_seconds_total{container="side",namespace="default",pod="web"} ${round * 0.05} ${at}`,
    '# TYPE container_memory_working_set_bytes gauge',
    `container_memory_working_set_bytes{container="app",namespace="default",pod="web"} ${10 * 1024 * 1024} ${at}`,
    `container_memory_working_set_bytes{container="side",namespace="default",pod="web"} ${2 * 1024 * 1024} ${at}`,
    '# TYPE node_cpu_usage_seconds_total counter',
    `node_cpu_usage_seconds_total ${1000 + round * 1.5} ${at}`,
    '# TYPE node_memory_working_set_bytes gauge',
    `node_memory_working_set_bytes ${512 * 1024 * 1024} ${at}`,
    '# TYPE scrape_error gauge',
    'scrape_error 0',
    '',
  ].join('\n');
}

beforeAll(async () => {
  registry = new Registry();
  test = await startTestServer({
    nodeResourceMetrics: async (node) => resourceMetrics(node),
    metricsScrapeIntervalMs: 300,
    metricsRegistry: registry,
    tokens: [{ token: 'nobody-token', user: 'nobody', groups: [] }],
  });
  const node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'gw-1', labels: { 'node-role.kubernetes.io/edge': '' } },
    status: { capacity: { cpu: '2', memory: '2Gi' }, allocatable: { cpu: '2', memory: '2Gi' } },
  };
  expect((await test.request('POST', '/api/v1/nodes', { body: node })).status).toBe(201);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'gw-1', containers: [{ name: 'app', image: 'busybox' }, { name: 'side', image: 'busybox' }] },
  };
  expect((await test.request('POST', '/api/v1/namespaces/default/pods', { body: pod })).status).toBe(201);
  await waitFor(async () => (await test.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes/gw-1')).status === 200, 'NodeMetrics of gw-1', { timeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  await test?.close();
});

describe('metrics.k8s.io - served from node scrapes', () => {
  it('metrics api - discovery lists nodes and pods with get and list', async () => {
    const list = await test.request('GET', '/apis/metrics.k8s.io/v1beta1');
    expect(list.status).toBe(200);
    const resources = (list.json.resources as { name: string; namespaced: boolean; kind: string; verbs: string[] }[]).map((r) => [r.name, r.namespaced, r.kind, r.verbs]);
    expect(resources).toEqual(expect.arrayContaining([['nodes', false, 'NodeMetrics', ['get', 'list']], ['pods', true, 'PodMetrics', ['get', 'list']]]));
    const groups = await test.request('GET', '/apis');
    expect(JSON.stringify(groups.json)).toContain('metrics.k8s.io/v1beta1');
  });

  it('metrics api - NodeMetrics carries the rate in nanocores, memory in Ki, timestamp and window', async () => {
    const { json } = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes/gw-1');
    expect(json).toMatchObject({ kind: 'NodeMetrics', apiVersion: 'metrics.k8s.io/v1beta1', metadata: { name: 'gw-1' }, window: '1s' });
    // 1.5 core-seconds per second of measurement time
    expect(json.usage).toEqual({ cpu: '1500000000n', memory: `${512 * 1024}Ki` });
    expect(Date.parse(json.timestamp)).toBeGreaterThan(1_800_000_000_000);
    expect(json.metadata.labels).toEqual({ 'node-role.kubernetes.io/edge': '' });
  });

  it('metrics api - PodMetrics lists per container, in one namespace and in all, with label selectors', async () => {
    const { json: pod } = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web');
    expect(pod.containers).toEqual([
      { name: 'app', usage: { cpu: '250000000n', memory: '10240Ki' } },
      { name: 'side', usage: { cpu: '50000000n', memory: '2048Ki' } },
    ]);
    const all = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/pods');
    expect(all.json.kind).toBe('PodMetricsList');
    expect(all.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['web']);
    const selected = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb');
    expect(selected.json.items).toHaveLength(1);
    const none = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dother');
    expect(none.json.items).toEqual([]);
    const missing = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope');
    expect(missing.status).toBe(404);
    const watch = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/pods?watch=true');
    expect(watch.status).toBe(405);
  });

  withKubectl.it('metrics api - kubectl top node, top pod and get nodes.metrics.k8s.io print the usage', async () => {
    const node = await test.kubectl(['top', 'node', 'gw-1']);
    expect(node.stderr).toBe('');
    expect(node.stdout).toMatch(/^NAME\s+CPU\(cores\)\s+CPU(\(%\)|%)\s+MEMORY\(bytes\)\s+MEMORY(\(%\)|%)/);
    expect(node.stdout).toMatch(/gw-1\s+1500m\s+75%\s+512Mi\s+25%/);
    const pods = await test.kubectl(['top', 'pod', '-n', 'default', '--containers']);
    expect(pods.stdout).toMatch(/web\s+app\s+250m\s+10Mi/);
    expect(pods.stdout).toMatch(/web\s+side\s+50m\s+2Mi/);
    const byLabel = await test.kubectl(['top', 'pod', '-A', '-l', 'app=web']);
    expect(byLabel.stdout).toMatch(/default\s+web\s+300m\s+12Mi/);
    const table = await test.kubectl(['get', 'nodes.metrics.k8s.io']);
    expect(table.stdout).toMatch(/NAME\s+CPU\s+MEMORY\s+WINDOW/);
    expect(table.stdout).toMatch(/gw-1\s+1500000000n\s+524288Ki\s+1s/);
  });

  it('metrics api - a garbage scrape is counted and logged, and the node keeps its last points', async () => {
    const before = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes/gw-1');
    garbage.add('gw-1');
    const seen = scrapes.get('gw-1') ?? 0;
    await waitFor(async () => (await metricValue(registry, 'kedge_apiserver_metrics_scrapes_total', { result: 'parse-error' })) >= 2 && (scrapes.get('gw-1') ?? 0) > seen + 1, 'garbage scrapes counted', { timeoutMs: 30_000 });
    const after = await test.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes/gw-1');
    expect(after.status).toBe(200);
    expect(after.json.usage).toEqual(before.json.usage);
    garbage.delete('gw-1');
    expect(await metricValue(registry, 'kedge_apiserver_metrics_scrapes_total', { result: 'ok' })).toBeGreaterThan(1);
  });

  it('attack - a user without rights on metrics.k8s.io reads no usage', async () => {
    for (const path of ['/apis/metrics.k8s.io/v1beta1/nodes', '/apis/metrics.k8s.io/v1beta1/nodes/gw-1', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods']) {
      const refused = await test.request('GET', path, { token: 'nobody-token' });
      expect(refused.status, path).toBe(403);
      expect(refused.text).not.toContain('Ki');
    }
  });
});

describe('metrics.k8s.io - without a source', () => {
  it('metrics api - the group is not served when no node source is configured', async () => {
    const plain = await startTestServer();
    try {
      expect((await plain.request('GET', '/apis/metrics.k8s.io/v1beta1/nodes')).status).toBe(404);
      expect(JSON.stringify((await plain.request('GET', '/apis')).json)).not.toContain('metrics.k8s.io');
    } finally {
      await plain.close();
    }
  });
});
