// The README's main job: it comes up, the edge connects, the simulated device reports into Device.status,
// the demo pod runs, and Ctrl-C stops everything it started. Pods are part of the job: without containerd
// this test fails (or skips when KEDGE_TEST_ALLOW_MISSING allows it), it never passes asserting less.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect } from 'vitest';
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
  needs.it('main job - starts cloudcore, a joined edgecore, a device, containerd and a pod, and SIGINT stops them all', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools', 'demo', 'all-in-one.ts')], {
      cwd: repoRoot,
      env: { ...process.env, KEDGE_STATE_DIR: tempDir('aio'), KEDGE_WS_PORT: '0', KEDGE_HTTPS_PORT: '0', KEDGE_METRICS_PORT: '0', KEDGE_METASERVER_PORT: '0' },
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

    demo.kill('SIGINT');
    expect(await demo.waitForExit()).toBe(0);
    expect(output).toMatch(/stopping edgecore[\s\S]*stopping cloudcore[\s\S]*stopped/);
    expect(output).toMatch(/stopping cloudcore[\s\S]*stopping containerd[\s\S]*stopped/);
    await waitFor(() => pids.every((pid) => !processAlive(pid)), 'no process left behind', { timeoutMs: 20_000 });
  });
});
