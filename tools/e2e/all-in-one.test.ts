// The README's main job: it comes up, the edge connects, and Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

describe('main job - all in one', () => {
  it('starts cloudcore and a joined edgecore, and SIGINT stops both', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'tools', 'demo', 'all-in-one.ts')], {
      cwd: repoRoot,
      env: { ...process.env, KEDGE_STATE_DIR: tempDir('all-in-one'), KEDGE_WS_PORT: '0', KEDGE_HTTPS_PORT: '0', KEDGE_METRICS_PORT: '0', KEDGE_METASERVER_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo = new KedgeProcess('all-in-one', child);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    await waitFor(() => output.includes('kedge all-in-one is up'), 'the demo to come up', { onTimeout: () => output + demo?.describe() });
    const pids = [...output.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(2);
    expect(output).toMatch(/connected over websocket/);
    // the printed kubectl line works against the embedded API server and shows the joined node
    const kubeconfig = /--kubeconfig (\S+) get nodes/.exec(output)?.[1];
    expect(kubeconfig).toBeDefined();
    await waitFor(async () => (await kubectl({ kubeconfig: kubeconfig as string }, ['get', 'nodes'])).stdout.includes('demo-gateway'), 'the node in kubectl get nodes');
    expect(pids.every(processAlive)).toBe(true);

    demo.kill('SIGINT');
    expect(await demo.waitForExit()).toBe(0);
    expect(output).toMatch(/stopping edgecore[\s\S]*stopping cloudcore[\s\S]*stopped/);
    await waitFor(() => pids.every((pid) => !processAlive(pid)), 'no process left behind', { timeoutMs: 20_000 });
  });
});
