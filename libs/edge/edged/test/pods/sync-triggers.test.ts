// What makes edged talk to the runtime, on a REAL private containerd: pods start side by side, each reports its
// status once it is Running (not a stale ContainerCreating first), a status patch echoed back by the cloud
// wakes nothing, and the relist leaves settled pods alone until the runtime changes under them. Every CRI
// call goes to containerd; a proxy only records which calls were made and how many overlapped.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CriClient } from '@kedge/cri';
import type { PodWorkers } from '../../src/index';
import type { PodsEnv } from './pods-fixture';
import { BUSYBOX_IMAGE, NODE, RecordingReporter, privateContainerd, startPodsEnv, waitUntil } from './pods-fixture';

const LOOP = 'while true; do sleep 1 & wait $!; done';
const POD_UID_LABEL = 'io.kubernetes.pod.uid';

interface RecordedCall {
  method: string;
  /** the pod uid a list call selected, if it selected one */
  uid?: string;
  /** whether the call selected every pod edged manages (the relist) */
  relist: boolean;
}

/** The real client, with every call recorded and the most RunPodSandbox calls seen in flight at once. */
function recordingCri(cri: CriClient): { cri: CriClient; calls: RecordedCall[]; maxSandboxesInFlight: () => number } {
  const calls: RecordedCall[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const proxy = new Proxy(cri, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const filter = args[0] as { labelSelector?: Record<string, string> } | undefined;
        const selector = typeof filter === 'object' ? filter?.labelSelector : undefined;
        calls.push({ method: String(property), ...(selector?.[POD_UID_LABEL] ? { uid: selector[POD_UID_LABEL] } : {}), relist: selector?.['kedge.io/managed-by'] !== undefined && selector[POD_UID_LABEL] === undefined });
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (property !== 'runPodSandbox') return result;
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        return (result as Promise<unknown>).finally(() => (inFlight -= 1));
      };
    },
  });
  return { cri: proxy, calls, maxSandboxesInFlight: () => maxInFlight };
}

privateContainerd.describe('edged - what starts a pod sync', () => {
  let env: PodsEnv;
  let workers: PodWorkers;
  let reporter: RecordingReporter;
  let recorded: ReturnType<typeof recordingCri>;
  const names = ['s0', 's1', 's2', 's3', 's4', 's5'];
  const podSpec = { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', LOOP] }] };
  /** per-pod syncs begin with listing that pod's sandboxes */
  const syncsOf = (name: string): number => recorded.calls.filter((c) => c.method === 'listPodSandbox' && c.uid === `uid-${name}`).length;
  const relists = (): number => recorded.calls.filter((c) => c.method === 'listPodSandbox' && c.relist).length;
  const running = (name: string) => {
    const status = reporter.status(name);
    return status?.phase === 'Running' && status.containerStatuses[0]?.state.running !== undefined ? status : undefined;
  };

  beforeAll(async () => {
    env = await startPodsEnv({ podSubnet: '10.88.246.0/24', bridgeName: 'kedge-cni-syn' });
    recorded = recordingCri(env.cri);
    reporter = new RecordingReporter();
    // no periodic resync of settled pods within the suite: only the runtime's changes may wake them
    workers = env.newWorkers(reporter, { cri: recorded.cri, syncIntervalMs: 200, resyncIntervalMs: 3_600_000 });
    await workers.start();
    for (const name of names) env.apply('pod', name, { spec: podSpec });
    await waitUntil(() => names.every(running), 'every pod Running', 60_000);
  }, 120_000);

  afterAll(async () => {
    await workers?.stop();
    await env?.stop();
  });

  it('starts the pods side by side, and the first status of each says Running with its container running', () => {
    expect(recorded.maxSandboxesInFlight()).toBeGreaterThan(1);
    for (const name of names) {
      const [first] = reporter.statuses(name);
      expect(first?.phase).toBe('Running');
      expect(first?.containerStatuses[0]?.state.running).toBeDefined();
    }
  });

  it('a status patch echoed back by the cloud wakes nothing; a label change wakes that pod', async () => {
    const before = syncsOf('s0');
    // the echo of s0's status first, then a change that matters to s1: the store delivers both in order, so
    // once s1 syncs, s0's echo has been handled
    env.apply('pod', 's0', { spec: podSpec, status: { phase: 'Running' } }, 'update');
    const s1Before = syncsOf('s1');
    env.apply('pod', 's1', { spec: podSpec, metadata: { labels: { tier: 'edge' } } }, 'update');
    await waitUntil(() => syncsOf('s1') > s1Before, 's1 to sync after its label change');
    expect(syncsOf('s0')).toBe(before);
  });

  it('the relist leaves settled pods alone, and syncs the pod whose container stopped behind its back', async () => {
    // settled: two relists in a row that synced no pod (the relist after a pod's first sync still looks once)
    let counts = '';
    let relistMark = relists();
    await waitUntil(
      () => {
        if (relists() < relistMark + 2) return false;
        const now = JSON.stringify(names.map(syncsOf));
        const quiet = now === counts && names.every((name) => running(name));
        counts = now;
        relistMark = relists();
        return quiet;
      },
      'the pods to settle',
      30_000,
    );
    const before = new Map(names.map((name) => [name, syncsOf(name)]));
    const relistsBefore = relists();
    await waitUntil(() => relists() >= relistsBefore + 5, 'five more relists');
    for (const name of names) expect(syncsOf(name)).toBe(before.get(name));

    const [victim] = await env.cri.listContainers({ labelSelector: { [POD_UID_LABEL]: 'uid-s2' }, state: 'CONTAINER_RUNNING' });
    expect(victim).toBeDefined();
    await env.cri.stopContainer(victim?.id ?? '', 0);
    const restarted = await waitUntil(() => {
      const status = running('s2');
      return status && status.containerStatuses[0]?.restartCount === 1 ? status : undefined;
    }, 's2 restarted by edged', 30_000);
    expect(restarted.containerStatuses[0]?.lastState.terminated).toBeDefined();
    expect(syncsOf('s2')).toBeGreaterThan(before.get('s2') ?? 0);
    for (const name of names.filter((n) => n !== 's2')) expect(syncsOf(name)).toBe(before.get(name));
  });
});
