// The README's main job: it comes up, the edge connects, the simulated device reports into Device.status,
// the demo pod runs (where containerd can run), and Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isContainerdAvailable } from '@kedge/containerd-fixture';
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

const podsOn = isContainerdAvailable().available;

describe('main job - all in one', () => {
  it(`starts cloudcore, a joined edgecore, a device${podsOn ? ', containerd and a pod' : ''}, and SIGINT stops them all`, async () => {
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
    expect(pids).toHaveLength(podsOn ? 3 : 2);
    expect(output).toMatch(/connected over websocket/);
    expect(output).toMatch(/mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t '\$hw\/events\/device\/#' -v/);
    if (!podsOn) expect(output).toMatch(/pods are off: /);
    const kubeconfig = /--kubeconfig (\S+) get nodes,pods,devices/.exec(output)?.[1];
    expect(kubeconfig).toBeDefined();
    const admin = { kubeconfig: kubeconfig as string };
    await waitFor(async () => (await kubectl(admin, ['get', 'nodes'])).stdout.includes('demo-gateway'), 'the node in kubectl get nodes');
    await waitFor(
      async () => /temperature/.test((await kubectl(admin, ['get', 'device', 'thermometer-1', '-o', 'jsonpath={.status.twins}'])).stdout),
      'a reported temperature in Device.status',
      { timeoutMs: 30_000 },
    );
    if (podsOn) {
      await waitFor(
        async () => (await kubectl(admin, ['get', 'pod', 'demo-ticker', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running',
        'the demo pod Running',
        { timeoutMs: 30_000 },
      );
    }
    expect(pids.every(processAlive)).toBe(true);

    demo.kill('SIGINT');
    expect(await demo.waitForExit()).toBe(0);
    expect(output).toMatch(/stopping edgecore[\s\S]*stopping cloudcore[\s\S]*stopped/);
    if (podsOn) expect(output).toMatch(/stopping cloudcore[\s\S]*stopping containerd[\s\S]*stopped/);
    await waitFor(() => pids.every((pid) => !processAlive(pid)), 'no process left behind', { timeoutMs: 20_000 });
  });
});
