// stdin's end reaches the container: the REAL kubectl (WebSocket v5, its channel-255 close) → embedded API
// server → kubelet API → cloudstream → hub → edgestream → SPDY FIN on the stdin stream → REAL containerd's
// streaming server, which closes the process's stdin. Without it, `kubectl cp` into a pod and piped
// `exec -i` to a process that reads to the end hang until the deadline below kills kubectl.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRIVATE_CONTAINERD_NEEDS } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { kubectlOk } from './harness';
import { NODE, POD, podManifest, startStreamsWorld, type StreamsWorld } from './streams-fixture';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');

/** kubectl with binary stdin, killed (by pid) after the deadline so a lost end-of-file fails instead of hanging */
async function kubectlPiped(
  kubeconfig: string,
  args: string[],
  input: Buffer,
  deadlineMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: Buffer; stderr: string; killed: boolean }> {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const stdout: Buffer[] = [];
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  const timer = setTimeout(() => {
    killed = true;
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, deadlineMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve)).finally(() => clearTimeout(timer));
  return { code, stdout: Buffer.concat(stdout), stderr, killed };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

needs.describe('streams - stdin end-of-file reaches the container', () => {
  let world: StreamsWorld;
  let kubeconfig: string;
  let dir: string;
  const file = randomBytes(1024 * 1024);

  beforeAll(async () => {
    world = await startStreamsWorld();
    kubeconfig = world.apiServer.adminKubeconfigPath;
    await kubectlOk({ kubeconfig }, ['create', '-f', '-'], podManifest(POD, NODE));
    dir = await mkdtemp(join(tmpdir(), 'kedge-stdin-'));
    await writeFile(join(dir, 'upload.bin'), file);
    // the pod runs once exec answers
    const deadline = Date.now() + 90_000;
    for (;;) {
      const probe = await kubectlPiped(kubeconfig, ['exec', POD, '--', 'true'], Buffer.alloc(0), 30_000);
      if (probe.code === 0) break;
      if (Date.now() > deadline) throw new Error(`pod never answered exec: ${probe.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });
  afterAll(async () => {
    await world?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('streams - kubectl exec -i -- cat echoes piped input and exits 0', async () => {
    const result = await kubectlPiped(kubeconfig, ['exec', '-i', POD, '--', 'cat'], Buffer.from('line one\nline two\n'));
    expect(result.killed, result.stderr).toBe(false);
    expect(result.stdout.toString()).toBe('line one\nline two\n');
    expect(result.code).toBe(0);
  });

  it('streams - over kubectl\'s SPDY fallback the FIN of its stdin stream ends the input too', async () => {
    const env = { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
    const result = await kubectlPiped(kubeconfig, ['exec', '-i', POD, '--', 'sh', '-c', 'cat > /tmp/spdy.bin; wc -c < /tmp/spdy.bin'], file, 60_000, env);
    expect(result.killed, result.stderr).toBe(false);
    expect(result.stdout.toString().trim()).toBe(String(file.length));
    expect(result.code).toBe(0);
  });

  it('streams - piped exec -i writes a 1 MiB file to its end and reports the byte count', async () => {
    const result = await kubectlPiped(kubeconfig, ['exec', '-i', POD, '--', 'sh', '-c', 'cat > /tmp/piped.bin; wc -c < /tmp/piped.bin'], file);
    expect(result.killed, result.stderr).toBe(false);
    expect(result.stdout.toString().trim()).toBe(String(file.length));
    expect(result.code).toBe(0);
    const back = await kubectlPiped(kubeconfig, ['exec', POD, '--', 'sha256sum', '/tmp/piped.bin'], Buffer.alloc(0));
    expect(back.stdout.toString().split(' ')[0]).toBe(sha256(file));
  });

  it('streams - the exit code of a process that read stdin to its end comes back', async () => {
    const result = await kubectlPiped(kubeconfig, ['exec', '-i', POD, '--', 'sh', '-c', 'cat > /dev/null; exit 7'], Buffer.from('x\n'));
    expect(result.killed, result.stderr).toBe(false);
    expect(result.code).toBe(7);
  });

  it('streams - kubectl cp of a 1 MiB file into the pod and back keeps its checksum', async () => {
    const upload = await kubectlPiped(kubeconfig, ['cp', join(dir, 'upload.bin'), `${POD}:/tmp/copied.bin`], Buffer.alloc(0));
    expect(upload.killed, upload.stderr).toBe(false);
    expect(upload.code, upload.stderr).toBe(0);
    const size = await kubectlPiped(kubeconfig, ['exec', POD, '--', 'wc', '-c', '/tmp/copied.bin'], Buffer.alloc(0));
    expect(size.stdout.toString().trim().split(/\s+/)[0]).toBe(String(file.length));
    const download = await kubectlPiped(kubeconfig, ['cp', `${POD}:/tmp/copied.bin`, join(dir, 'downloaded.bin')], Buffer.alloc(0));
    expect(download.code, download.stderr).toBe(0);
    expect(sha256(await readFile(join(dir, 'downloaded.bin')))).toBe(sha256(file));
  });
});
