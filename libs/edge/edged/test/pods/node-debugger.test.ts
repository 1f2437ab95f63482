// The pod `kubectl debug node/<edge>` creates (hostPID, hostIPC, hostNetwork, hostPath / at /host), on a REAL
// private containerd, on a gateway whose edged.podSecurity allows it as docs/operations.md says: it runs and
// sees the host. (The default refusing it is proven end to end in tools/e2e/debug.test.ts.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PodWorkers } from '../../src/index';
import type { PodsEnv } from './pods-fixture';
import { BUSYBOX_IMAGE, NODE, RecordingReporter, privateContainerd, startPodsEnv, waitUntil } from './pods-fixture';

privateContainerd.describe('edged - the node debugger pod where podSecurity allows it', () => {
  let env: PodsEnv;
  let workers: PodWorkers;
  let reporter: RecordingReporter;

  beforeAll(async () => {
    env = await startPodsEnv({ podSubnet: '10.88.245.0/24', bridgeName: 'kedge-cni-ndb' });
    reporter = new RecordingReporter();
    // the settings docs/operations.md gives for node debugging
    workers = env.newWorkers(reporter, { security: { allowPrivileged: true, allowHostNetwork: true, allowedHostPaths: ['/'] } });
    // what kubectl 1.32 debug node/<edge> (profile legacy) sends
    env.apply('pod', 'node-debugger', {
      spec: {
        nodeName: NODE, restartPolicy: 'Never', hostIPC: true, hostNetwork: true, hostPID: true, terminationGracePeriodSeconds: 0,
        tolerations: [{ operator: 'Exists' }],
        volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
        containers: [{ name: 'debugger', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'while true; do sleep 1 & wait $!; done'], volumeMounts: [{ name: 'host-root', mountPath: '/host' }] }],
      },
    });
    await workers.start();
  }, 120_000);

  afterAll(async () => {
    await workers?.stop();
    await env?.stop();
  });

  it('runs, sees the host processes (hostPID) and the host root at /host', async () => {
    const id = await waitUntil(() => {
      const status = reporter.status('node-debugger');
      if (status?.phase === 'Failed') throw new Error(`refused: ${status.message ?? ''}`);
      const debuggerStatus = status?.containerStatuses.find((c) => c.name === 'debugger');
      return debuggerStatus?.state.running ? debuggerStatus.containerID?.replace(/^containerd:\/\//, '') : undefined;
    }, 'the node debugger running', 60_000);
    const run = async (script: string) => (await env.cri.execSync(id, ['sh', '-c', script], { timeoutSeconds: 10 })).stdout.toString();
    // this test process is on the host: with hostPID its pid is visible in the container
    expect(await run(`cat /proc/${process.pid}/cmdline | tr '\\0' ' '`)).toContain('node');
    expect(await run('cat /host/etc/hostname')).toBe(readFileSync('/etc/hostname', 'utf8'));
  }, 90_000);
});
