// kubectl logs / logs -f / exec for an edge pod through the cloud: the REAL kubectl → embedded API
// server → cloudstream → CloudHub → the edge's hub session → edgestream → REAL containerd (CRI).
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRIVATE_CONTAINERD_NEEDS } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { kubectl, kubectlOk, waitFor } from './harness';
import { CONTAINER, NODE, POD, podManifest, startStreamsWorld, type StreamsWorld } from './streams-fixture';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const terminal = await requires('script');

needs.describe('streams - kubectl through the hub', () => {
  let world: StreamsWorld;
  let admin: { kubeconfig: string };

  beforeAll(async () => {
    world = await startStreamsWorld();
    admin = { kubeconfig: world.apiServer.adminKubeconfigPath };
    await kubectlOk(admin, ['create', '-f', '-'], podManifest(POD, NODE));
    await kubectlOk(admin, ['create', '-f', '-'], podManifest('orphan', 'ghost-node'));
  });
  afterAll(async () => {
    await world?.stop();
  });

  it('streams - kubectl logs returns the container output', async () => {
    let out = '';
    await waitFor(async () => {
      const result = await kubectl(admin, ['logs', POD]);
      out = result.stdout;
      return result.code === 0 && out.includes('line-two') && out.includes('oops');
    }, 'the log lines');
    // stdout and stderr are separate pipes, so the stderr line may land anywhere
    expect(out.replace('oops\n', '')).toContain('line-one\nline-two\n');
    expect(out).toContain('oops\n');
  });

  it('streams - kubectl logs honours tail and timestamps', async () => {
    const tail = await kubectlOk(admin, ['logs', POD, '-c', CONTAINER, '--tail=1']);
    expect(tail.trim().split('\n')).toHaveLength(1);
    const stamped = await kubectlOk(admin, ['logs', POD, '--timestamps']);
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\S+Z line-one$/m);
  });

  it('streams - kubectl logs -f streams a line written later', async () => {
    const child = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'logs', '-f', POD], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => out.includes('line-two'), 'the existing lines');
      await world.cri.execSync(world.containerId, ['touch', '/tmp/go']);
      await waitFor(() => out.includes('new-line'), 'the new line', { timeoutMs: 20_000 });
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
    await waitFor(() => world.cloudStream.table.countFor(NODE) === 0, 'the stream to be closed');
  });

  it('streams - kubectl logs --since-time and --since show only lines logged after the moment, combined with --tail', async () => {
    const stampsOf = (text: string): Array<{ at: number; line: string }> =>
      text.split('\n').filter((line) => line !== '').map((line) => ({ at: Date.parse(line.slice(0, line.indexOf(' '))), line: line.slice(line.indexOf(' ') + 1) }));
    const before = stampsOf(await kubectlOk(admin, ['logs', POD, '--timestamps']));
    expect(before.map((entry) => entry.line)).toContain('line-one');
    // the moment: the first whole second after every line so far (--since-time travels to the second)
    const moment = Math.floor(Math.max(...before.map((entry) => entry.at)) / 1000) * 1000 + 1000;
    await waitFor(() => Date.now() > moment + 100, 'the clock to pass the moment', { intervalMs: 100 });
    await world.cri.execSync(world.containerId, ['touch', '/tmp/go']);
    await waitFor(async () => (await kubectlOk(admin, ['logs', POD])).split('\n').filter((line) => line === 'new-line').length > before.filter((entry) => entry.line === 'new-line').length, 'the line logged after the moment');

    const sinceTime = new Date(moment).toISOString().replace('.000Z', 'Z');
    const after = stampsOf(await kubectlOk(admin, ['logs', POD, '--timestamps', `--since-time=${sinceTime}`]));
    expect(after.map((entry) => entry.line)).toEqual(['new-line']);
    expect(after.every((entry) => entry.at >= moment)).toBe(true);
    // tail applies to what since left: the last line of all, and nothing before the moment even with a long tail
    expect(await kubectlOk(admin, ['logs', POD, '--since-time=2000-01-01T00:00:00Z', '--tail=1'])).toBe('new-line\n');
    expect(await kubectlOk(admin, ['logs', POD, `--since-time=${sinceTime}`, '--tail=100'])).toBe('new-line\n');

    // --since=2s: measured on the edge's clock when the request arrives; retried until a fresh line is inside
    // the window, and never shows a line older than the window
    await waitFor(() => Date.now() > moment + 3_000, 'the first lines to be older than 2 s', { intervalMs: 100 });
    await waitFor(async () => {
      await world.cri.execSync(world.containerId, ['touch', '/tmp/go']);
      await waitFor(async () => (await world.cri.execSync(world.containerId, ['sh', '-c', 'test -e /tmp/go'])).exitCode !== 0, 'the container to log the line');
      const asked = Date.now();
      const recent = stampsOf(await kubectlOk(admin, ['logs', POD, '--timestamps', '--since=2s']));
      expect(recent.every((entry) => entry.at >= asked - 2_000), JSON.stringify(recent)).toBe(true);
      expect(recent.map((entry) => entry.line)).not.toContain('line-one');
      return recent.some((entry) => entry.line === 'new-line');
    }, 'a line logged within the last 2 s', { timeoutMs: 60_000 });
  });

  it('streams - kubectl exec returns the command output', async () => {
    const result = await kubectl(admin, ['exec', POD, '--', 'sh', '-c', 'echo hello-from-edge; echo to-err >&2']);
    expect(result.stderr).toContain('to-err');
    expect(result.stdout).toBe('hello-from-edge\n');
    expect(result.code).toBe(0);
  });

  it('streams - kubectl exec propagates the exit code', async () => {
    const result = await kubectl(admin, ['exec', POD, '--', 'sh', '-c', 'exit 3']);
    expect(result.code).toBe(3);
  });

  it('streams - kubectl exec -i passes stdin', async () => {
    const result = await kubectl(admin, ['exec', '-i', POD, '--', 'sh', '-c', 'head -n 1'], 'piped-in\n');
    expect(result.stdout).toBe('piped-in\n');
    expect(result.code).toBe(0);
  });

  terminal.it('streams - kubectl exec -it runs on a terminal', async () => {
    // `script` gives kubectl a pseudo-terminal, so it asks for tty=true and sends stdin and resizes
    const command = `kubectl --kubeconfig ${admin.kubeconfig} exec -it ${POD} -- sh`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write('echo tty-is-$(tty)\nexit 4\n');
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve)).finally(() => clearTimeout(timer));
    expect(out).toContain('tty-is-/dev/pts/');
    expect(code).toBe(4);
  });

  it('streams - a node without a session answers 503', async () => {
    const logs = await kubectl(admin, ['logs', 'orphan']);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain('has no live session');
    const exec = await kubectl(admin, ['exec', 'orphan', '--', 'true']);
    expect(exec.code).not.toBe(0);
  });

  it('streams - a container the edge does not run is a clear 404', async () => {
    await kubectlOk(admin, ['create', '-f', '-'], podManifest('not-started', NODE));
    const result = await kubectl(admin, ['logs', 'not-started']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('is not running on this node');
  });
});
