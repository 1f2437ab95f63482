// The stats mapping without a runtime: CRI answers → the kubelet's Summary (grouping by edged's labels,
// only running containers of ready sandboxes, rates from two samples, pod sums when the runtime has no
// sandbox stats), the Summary → /metrics/resource text, and /proc and cgroup files → node usage.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerStats as CriContainerStats, ContainerSummary, PodSandboxSummary } from '@kedge/cri';
import { buildPodStats, CpuRateTracker, NodeUsageParseError, NodeUsageReader, parseMeminfo, parseProcStat, resourceMetricsText, type RuntimeSnapshot, type Summary } from '../../src/index';

const SECOND = 1_000_000_000n;
const T0 = 1_800_000_000n * SECOND;

const sandbox = (id: string, name: string, state: PodSandboxSummary['state'] = 'SANDBOX_READY'): PodSandboxSummary => ({
  id,
  metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 },
  state,
  createdAt: T0 - 60n * SECOND,
  labels: { 'io.kubernetes.pod.name': name, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.pod.uid': `uid-${name}` },
  annotations: {},
  runtimeHandler: '',
});

const container = (id: string, pod: string, name: string, state: ContainerSummary['state'] = 'CONTAINER_RUNNING'): ContainerSummary =>
  ({
    id,
    podSandboxId: `sb-${pod}`,
    metadata: { name, attempt: 0 },
    image: 'busybox',
    imageRef: 'sha256:1',
    state,
    createdAt: T0 - 30n * SECOND,
    labels: { 'io.kubernetes.pod.uid': `uid-${pod}`, 'io.kubernetes.container.name': name },
    annotations: {},
  }) as ContainerSummary;

const stats = (id: string, pod: string, name: string, cpuSeconds: number, at: bigint, workingSet: number): CriContainerStats => ({
  id,
  name,
  labels: { 'io.kubernetes.pod.uid': `uid-${pod}`, 'io.kubernetes.pod.name': pod, 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.container.name': name },
  annotations: {},
  cpu: { timestamp: at, usageCoreNanoSeconds: cpuSeconds * 1e9, usageNanoCores: 0 },
  memory: { timestamp: at, workingSetBytes: workingSet, usageBytes: workingSet + 100, rssBytes: workingSet - 100, availableBytes: 0 },
});

function snapshot(at: bigint, webCpu: number): RuntimeSnapshot {
  return {
    sandboxes: [sandbox('sb-web', 'web'), sandbox('sb-gone', 'gone', 'SANDBOX_NOTREADY')],
    containers: [container('c-app', 'web', 'app'), container('c-side', 'web', 'side'), container('c-old', 'web', 'old', 'CONTAINER_EXITED')],
    containerStats: [stats('c-app', 'web', 'app', webCpu, at, 4096), stats('c-side', 'web', 'side', 1, at, 1024), stats('c-old', 'web', 'old', 9, at, 1)],
    sandboxStats: undefined,
  };
}

describe('resource stats - CRI answers to the summary', () => {
  it('stats mapping - containers group into their pod by labels, exited ones and not-ready sandboxes are left out', () => {
    const pods = buildPodStats(snapshot(T0, 2), new CpuRateTracker());
    expect(pods).toHaveLength(1);
    const [web] = pods;
    expect(web?.podRef).toEqual({ name: 'web', namespace: 'default', uid: 'uid-web' });
    expect(web?.startTime).toBe(new Date(Number((T0 - 60n * SECOND) / 1_000_000n)).toISOString());
    expect(web?.containers.map((c) => c.name)).toEqual(['app', 'side']);
    expect(web?.containers[0]).toMatchObject({ cpu: { usageCoreNanoSeconds: 2e9 }, memory: { workingSetBytes: 4096, usageBytes: 4196, rssBytes: 3996 } });
    // no limit: containerd's 0 is left out, as the kubelet does
    expect(web?.containers[0]?.memory?.availableBytes).toBeUndefined();
    // the pod sums its containers when the runtime gives no sandbox stats
    expect(web?.cpu?.usageCoreNanoSeconds).toBe(3e9);
    expect(web?.memory?.workingSetBytes).toBe(5120);
    expect(web?.cpu?.usageNanoCores).toBeUndefined();
  });

  it('stats mapping - usageNanoCores comes from two samples when the runtime does not compute it', () => {
    const rates = new CpuRateTracker();
    buildPodStats(snapshot(T0, 2), rates);
    rates.endRound();
    const [web] = buildPodStats(snapshot(T0 + 2n * SECOND, 3), rates);
    // 1 core-second over 2 s
    expect(web?.containers[0]?.cpu?.usageNanoCores).toBe(500_000_000);
    expect(web?.containers[1]?.cpu?.usageNanoCores).toBe(0);
    expect(web?.cpu?.usageNanoCores).toBe(500_000_000);
  });

  it('stats mapping - pod figures come from ListPodSandboxStats when the runtime answers it', () => {
    const withSandbox = { ...snapshot(T0, 2), sandboxStats: [{ id: 'sb-web', metadata: sandbox('sb-web', 'web').metadata, labels: {}, annotations: {}, cpu: { timestamp: T0, usageCoreNanoSeconds: 7e9 }, memory: { timestamp: T0, workingSetBytes: 9999 }, containers: [] }] };
    const [web] = buildPodStats(withSandbox, new CpuRateTracker());
    expect(web?.cpu?.usageCoreNanoSeconds).toBe(7e9);
    expect(web?.memory?.workingSetBytes).toBe(9999);
  });
});

describe('resource stats - /metrics/resource text', () => {
  const summary: Summary = {
    node: { nodeName: 'gw-1', startTime: '2026-01-01T00:00:00.000Z', cpu: { time: '2026-12-07T10:00:00.000Z', usageCoreNanoSeconds: 12.5e9 }, memory: { time: '2026-12-07T10:00:00.000Z', workingSetBytes: 1000 } },
    pods: [
      {
        podRef: { name: 'we"b', namespace: 'default', uid: 'u' },
        startTime: '2026-12-07T09:00:00.000Z',
        containers: [{ name: 'app', startTime: '2026-12-07T09:00:01.500Z', cpu: { time: '2026-12-07T10:00:00.000Z', usageCoreNanoSeconds: 1.5e9 }, memory: { time: '2026-12-07T10:00:00.000Z', workingSetBytes: 4096 } }],
        cpu: { time: '2026-12-07T10:00:00.000Z', usageCoreNanoSeconds: 1.5e9 },
        memory: { time: '2026-12-07T10:00:00.000Z', workingSetBytes: 4096 },
      },
    ],
  };

  it('resource metrics text - the kubelet families, sorted labels, escaped values and ms timestamps', () => {
    const text = resourceMetricsText(summary);
    const at = Date.parse('2026-12-07T10:00:00.000Z');
    expect(text).toContain('# TYPE container_cpu_usage_seconds_total counter\n');
    expect(text).toContain(`container_cpu_usage_seconds_total{container="app",namespace="default",pod="we\\"b"} 1.5 ${at}\n`);
    expect(text).toContain(`container_memory_working_set_bytes{container="app",namespace="default",pod="we\\"b"} 4096 ${at}\n`);
    expect(text).toContain(`container_start_time_seconds{container="app",namespace="default",pod="we\\"b"} ${Date.parse('2026-12-07T09:00:01.500Z') / 1000}\n`);
    expect(text).toContain(`node_cpu_usage_seconds_total 12.5 ${at}\n`);
    expect(text).toContain(`node_memory_working_set_bytes 1000 ${at}\n`);
    expect(text).toContain(`pod_cpu_usage_seconds_total{namespace="default",pod="we\\"b"} 1.5 ${at}\n`);
    expect(text).toContain(`pod_memory_working_set_bytes{namespace="default",pod="we\\"b"} 4096 ${at}\n`);
    expect(text).toContain('\nscrape_error 0\n');
  });

  it('resource metrics text - a failed collection is a scrape with scrape_error 1 and nothing else', () => {
    expect(resourceMetricsText(undefined)).toBe(
      '# HELP resource_scrape_error [STABLE] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE resource_scrape_error gauge\nresource_scrape_error 1\n' +
        '# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise\n# TYPE scrape_error gauge\nscrape_error 1\n',
    );
  });
});

describe('resource stats - the node from /proc and the root cgroup', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function fakeRoots(files: Record<string, string>): Promise<{ procRoot: string; cgroupRoot: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'kedge-node-usage-'));
    dirs.push(dir);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(join(dir, path, '..'), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    return { procRoot: join(dir, 'proc'), cgroupRoot: join(dir, 'cgroup') };
  }

  const PROC_STAT = 'cpu  100 20 30 400 50 6 7 8 0 0\ncpu0 1 2 3 4\nbtime 1796657404\n';
  const MEMINFO = 'MemTotal:       1000 kB\nMemFree:         200 kB\nMemAvailable:    700 kB\nInactive(file):  100 kB\nAnonPages:        50 kB\n';

  it('node usage - cgroup v1 root: cpuacct.usage and memory usage − total_inactive_file', async () => {
    const roots = await fakeRoots({
      'proc/stat': PROC_STAT,
      'proc/meminfo': MEMINFO,
      'cgroup/cpuacct/cpuacct.usage': '123456789\n',
      'cgroup/memory/memory.usage_in_bytes': '500000\n',
      'cgroup/memory/memory.stat': 'rss 1\ntotal_rss 3000\ntotal_inactive_file 100000\n',
    });
    const usage = await new NodeUsageReader(roots).read(new Date('2026-12-07T10:00:00Z'));
    expect(usage.startTime).toBe(new Date(1796657404 * 1000).toISOString());
    expect(usage.cpu).toEqual({ time: '2026-12-07T10:00:00.000Z', usageCoreNanoSeconds: 123456789 });
    expect(usage.memory).toEqual({ time: '2026-12-07T10:00:00.000Z', usageBytes: 500000, workingSetBytes: 400000, rssBytes: 3000, availableBytes: 1000 * 1024 - 400000 });
  });

  it('node usage - without cgroup files: /proc/stat busy jiffies and /proc/meminfo', async () => {
    const roots = await fakeRoots({ 'proc/stat': PROC_STAT, 'proc/meminfo': MEMINFO });
    const usage = await new NodeUsageReader(roots).read(new Date('2026-12-07T10:00:00Z'));
    // user+nice+system+irq+softirq+steal = 171 ticks of 10 ms
    expect(usage.cpu?.usageCoreNanoSeconds).toBe(1_710_000_000);
    expect(usage.memory).toMatchObject({ usageBytes: 800 * 1024, workingSetBytes: 700 * 1024, rssBytes: 50 * 1024 });
  });

  it('node usage - unreadable or garbled /proc is a NodeUsageParseError naming the file', async () => {
    const missing = await fakeRoots({ 'proc/meminfo': MEMINFO });
    await expect(new NodeUsageReader(missing).read()).rejects.toThrow(/stat: cannot be read/);
    expect(() => parseProcStat('cpu  1 2 x 4\nbtime 1\n', 100)).toThrow(NodeUsageParseError);
    expect(() => parseProcStat('intr 1\n', 100)).toThrow(/no aggregate "cpu" line/);
  });

  it('node usage - random text never crashes the parsers with anything but NodeUsageParseError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(parseMeminfo(text)).toBeInstanceOf(Map);
        try {
          parseProcStat(text, 100);
        } catch (error) {
          expect(error).toBeInstanceOf(NodeUsageParseError);
        }
      }),
    );
  });
});
