// The README's main job: it comes up, the edge connects, the simulated device reports into Device.status,
// the demo pod runs, and Ctrl-C stops everything it started. Pods are part of the job: without containerd
// this test fails (or skips when KEDGE_TEST_ALLOW_MISSING allows it), it never passes asserting less.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PRIVATE_CONTAINERD_NEEDS } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { KedgeProcess, kubectl, repoRoot, tempDir, waitFor } from './harness';

let demo: KedgeProcess | undefined;
afterEach(async () => {
  await demo?.stop('SIGKILL');
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');

describe('main job - all in one', () => {
  needs.it('main job - starts cloudcore, a joined edgecore, a device, containerd and a pod; a killed edgecore is restarted and the pod keeps running; SIGINT stops them all', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools', 'demo', 'all-in-one.ts')], {
      cwd: repoRoot,
      env: { ...process.env, KEDGE_STATE_DIR: tempDir('aio'), KEDGE_WS_PORT: '0', KEDGE_HTTPS_PORT: '0', KEDGE_METRICS_PORT: '0', KEDGE_METASERVER_PORT: '0', KEDGE_APISERVER_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo = new KedgeProcess('all-in-one', child);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor(() => output.includes('kedge all-in-one is up'), 'the demo to come up', { timeoutMs: 60_000, onTimeout: () => output + demo?.describe() });
    const pids = [...output.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(output).not.toMatch(/pods are off/);
    expect(pids).toHaveLength(3);
    expect(output).toMatch(/connected over websocket/);
    expect(output).toMatch(/mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t '\$hw\/events\/device\/#' -v/);
    const kubeconfig = /--kubeconfig (\S+) get nodes,pods,devices/.exec(output)?.[1];
    expect(kubeconfig).toBeDefined();
    const admin = { kubeconfig: kubeconfig as string };
    await waitFor(async () => (await kubectl(admin, ['get', 'nodes'])).stdout.includes('demo-gateway'), 'the node in kubectl get nodes');
    await waitFor(
      async () => /temperature/.test((await kubectl(admin, ['get', 'device', 'thermometer-1', '-o', 'jsonpath={.status.twins}'])).stdout),
      'a reported temperature in Device.status',
      { timeoutMs: 30_000 },
    );
    await waitFor(
      async () => (await kubectl(admin, ['get', 'pod', 'demo-ticker', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running',
      'the demo pod Running',
      { timeoutMs: 30_000 },
    );
    expect(pids.every(processAlive)).toBe(true);

    // autonomy: edgecore killed -9 comes back on its own, and the pod runs on in the same container
    const containerId = (await kubectl(admin, ['get', 'pod', 'demo-ticker', '-o', 'jsonpath={.status.containerStatuses[0].containerID}'])).stdout;
    expect(containerId).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    const edgecorePid = Number(/edgecore {3}pid (\d+)/.exec(output)?.[1]);
    process.kill(edgecorePid, 'SIGKILL');
    await waitFor(() => /edgecore exited \(code -1\); restarting it in [\d.]+ s \(restart 1\)/.test(output), 'the demo to restart edgecore', {
      timeoutMs: 20_000,
      onTimeout: () => output,
    });
    await waitFor(() => /edgecore restarted \(pid \d+\)/.test(output), 'edgecore to come back', { timeoutMs: 60_000, onTimeout: () => output });
    const restartedPid = Number(/edgecore restarted \(pid (\d+)\)/.exec(output)?.[1]);
    expect(processAlive(restartedPid)).toBe(true);
    await waitFor(
      async () => (await kubectl(admin, ['get', 'node', 'demo-gateway', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True',
      'the node Ready after the restart',
      { timeoutMs: 60_000 },
    );
    // the restarted edged adopted the running container instead of starting another one
    await waitFor(
      async () => {
        const after = await kubectl(admin, ['get', 'pod', 'demo-ticker', '-o', 'jsonpath={.status.phase} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}']);
        return after.stdout === `Running ${containerId} 0`;
      },
      'demo-ticker Running in the same container, never restarted',
      { timeoutMs: 30_000 },
    );
    expect(demo.running).toBe(true);
    pids.push(restartedPid);

    demo.kill('SIGINT');
    expect(await demo.waitForExit()).toBe(0);
    expect(output).toMatch(/stopping edgecore[\s\S]*stopping cloudcore[\s\S]*stopped/);
    expect(output).toMatch(/stopping cloudcore[\s\S]*stopping containerd[\s\S]*stopped/);
    await waitFor(() => pids.every((pid) => !processAlive(pid)), 'no process left behind', { timeoutMs: 20_000 });
  });

  it('main job - a taken API server port is a clear error naming KEDGE_APISERVER_PORT, before anything starts', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const taken = (holder.address() as AddressInfo).port;
      const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools', 'demo', 'all-in-one.ts')], {
        cwd: repoRoot,
        env: { ...process.env, KEDGE_STATE_DIR: tempDir('aio-port'), KEDGE_APISERVER_PORT: String(taken), KEDGE_WS_PORT: '0', KEDGE_HTTPS_PORT: '0', KEDGE_METRICS_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      demo = new KedgeProcess('all-in-one', child);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      expect(await demo.waitForExit()).toBe(1);
      expect(stderr).toContain(`port ${taken} (the embedded API server) is already in use by another program`);
      expect(stderr).toContain('set KEDGE_APISERVER_PORT to a free port');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
