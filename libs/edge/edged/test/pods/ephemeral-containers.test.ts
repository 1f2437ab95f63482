// Ephemeral containers on a REAL private containerd: added to a running pod (a pod update carrying
// spec.ephemeralContainers, as the cloud sends it after kubectl debug), started once in the pod's sandbox,
// in the target container's PID namespace when named, never restarted, reported in
// ephemeralContainerStatuses; the node's pod security refuses a privileged one without touching the pod.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PodSecurityMetrics, type PodWorkers } from '../../src/index';
import type { ContainerStatusView, PodsEnv } from './pods-fixture';
import { BUSYBOX_IMAGE, NODE, RecordingReporter, privateContainerd, startPodsEnv, waitUntil } from './pods-fixture';

const LOOP = 'while true; do sleep 1 & wait $!; done';
// a process the target runs that only its PID namespace shows
const MARKER = 'sleep 86399';

privateContainerd.describe('edged - ephemeral containers', () => {
  let env: PodsEnv;
  let workers: PodWorkers;
  let reporter: RecordingReporter;
  let metrics: Registry;

  const podSpec = { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', `${MARKER} & ${LOOP}`] }] };
  const debuggers: Record<string, unknown>[] = [];
  const addDebugger = (container: Record<string, unknown>) => {
    debuggers.push({ image: BUSYBOX_IMAGE, ...container });
    env.apply('pod', 'target', { spec: { ...podSpec, ephemeralContainers: structuredClone(debuggers) } }, 'update');
  };
  const ephemeral = (name: string): ContainerStatusView | undefined =>
    (reporter.status('target') as { ephemeralContainerStatuses?: ContainerStatusView[] } | undefined)?.ephemeralContainerStatuses?.find((c) => c.name === name);
  const runningId = (name: string) =>
    waitUntil(() => {
      const status = ephemeral(name);
      return status?.state.running ? status.containerID?.replace(/^containerd:\/\//, '') : undefined;
    }, `ephemeral container ${name} running`, 60_000);
  const ps = async (containerId: string) => (await env.cri.execSync(containerId, ['ps'], { timeoutSeconds: 10 })).stdout.toString();

  let appId = '';

  beforeAll(async () => {
    env = await startPodsEnv({ podSubnet: '10.88.243.0/24', bridgeName: 'kedge-cni-eph' });
    reporter = new RecordingReporter();
    metrics = new Registry();
    workers = env.newWorkers(reporter, { security: {}, metrics: new PodSecurityMetrics(metrics) });
    env.apply('pod', 'target', { spec: podSpec });
    await workers.start();
    appId = await waitUntil(() => {
      const app = reporter.status('target')?.containerStatuses.find((c) => c.name === 'app');
      return app?.state.running ? app.containerID : undefined;
    }, 'the pod running', 60_000);
  }, 120_000);

  afterAll(async () => {
    await workers?.stop();
    await env?.stop();
  });

  it('ephemeral - a debugger with targetContainerName shares the target PID namespace; one without sees only itself', async () => {
    addDebugger({ name: 'debugger', targetContainerName: 'app', command: ['sh', '-c', LOOP] });
    addDebugger({ name: 'loner', command: ['sh', '-c', LOOP] });
    expect(await ps(await runningId('debugger'))).toContain(MARKER);
    expect(await ps(await runningId('loner'))).not.toContain(MARKER);
    // the pod itself went on: same app container, still running, phase Running
    const status = reporter.status('target');
    expect(status?.phase).toBe('Running');
    expect(status?.containerStatuses.find((c) => c.name === 'app')?.containerID).toBe(appId);
  }, 90_000);

  it('ephemeral - an exited ephemeral container is reported terminated with its exit code and never restarted', async () => {
    addDebugger({ name: 'once', command: ['sh', '-c', 'echo hi; exit 3'] });
    const terminated = await waitUntil(() => ephemeral('once')?.state.terminated, 'the one-shot debugger terminated', 60_000);
    expect(terminated.exitCode).toBe(3);
    const id = ephemeral('once')?.containerID;
    // several syncs later (200 ms each) it is the same dead container, with no restarts
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await workers.syncAll();
    expect(ephemeral('once')).toEqual(expect.objectContaining({ containerID: id, restartCount: 0, state: { terminated: expect.objectContaining({ exitCode: 3 }) } }));
    const all = await env.cri.listContainers({ labelSelector: { 'io.kubernetes.container.name': 'once' } });
    expect(all).toHaveLength(1);
  }, 90_000);

  it('attack - a privileged ephemeral container is refused by the node pod security; the pod keeps running', async () => {
    addDebugger({ name: 'root-shell', command: ['sh', '-c', LOOP], securityContext: { privileged: true } });
    const waiting = await waitUntil(() => ephemeral('root-shell')?.state.waiting, 'the privileged debugger refused', 60_000);
    expect(waiting.reason).toBe('PodSecurityRefused');
    expect(waiting.message).toContain('spec.ephemeralContainers[3].securityContext.privileged');
    expect(await env.cri.listContainers({ labelSelector: { 'io.kubernetes.container.name': 'root-shell' } })).toEqual([]);
    expect(reporter.events('target').some((event) => event.reason === 'PodSecurityRefused' && event.message.includes('ephemeralContainers[3]'))).toBe(true);
    expect(await metrics.metrics()).toMatch(/kedge_edged_pod_security_refused_total\{reason="privileged"\} 1/);
    const status = reporter.status('target');
    expect(status?.phase).toBe('Running');
    expect(status?.containerStatuses.find((c) => c.name === 'app')).toEqual(expect.objectContaining({ containerID: appId, state: { running: expect.anything() } }));
  }, 90_000);
});
