// The life of a pod on the node's network: sandbox, a busybox container that echoes its env and sleeps,
// status, CRI log file, ExecSync, Exec URL, graceful and forced StopContainer, removal.
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerConfig, PodSandboxConfig } from '../src/index';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestContainerd } from './containerd-fixture';
import { BUSYBOX_IMAGE, podConfig, privateContainerd, startTestContainerd, waitUntil } from './containerd-fixture';

// Traps TERM so a graceful stop is observable as exit code 42; `sleep & wait` lets the trap run at once.
const APP_SCRIPT = 'trap "echo got-TERM; exit 42" TERM; echo "greeting=$GREETING"; echo "target=$TARGET"; echo to-stderr >&2; while true; do sleep 1 & wait $!; done';
// Ignores TERM, so only the SIGKILL after the stop timeout ends it.
const STUBBORN_SCRIPT = 'trap "" TERM; echo stubborn; while true; do sleep 1; done';

privateContainerd.describe('cri - hostNetwork pod', () => {
  let env: TestContainerd;
  let sandboxConfig: PodSandboxConfig;
  let sandboxId: string;
  let appId: string;

  const container = (name: string, script: string, extra: Partial<ContainerConfig> = {}): ContainerConfig => ({
    metadata: { name },
    image: BUSYBOX_IMAGE,
    command: ['sh', '-c', script],
    logPath: `${name}/0.log`,
    labels: { 'kedge.io/container': name },
    ...extra,
  });

  beforeAll(async () => {
    env = await startTestContainerd('hostnet');
    sandboxConfig = podConfig(env.dir, 'web', {
      linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('runs the sandbox on the node network', async () => {
    sandboxId = await env.cri.runPodSandbox(sandboxConfig);
    const status = await env.cri.podSandboxStatus(sandboxId);
    expect(status).toMatchObject({ id: sandboxId, state: 'SANDBOX_READY', metadata: { name: 'web', namespace: 'default', uid: 'uid-web' } });
    expect(status.namespaceOptions?.network).toBe('NODE');
    expect(status.labels['kedge.io/test']).toBe('web');
    expect(status.createdAt).toBeGreaterThan(0n);
    const listed = await env.cri.listPodSandbox({ labelSelector: { 'kedge.io/test': 'web' }, state: 'SANDBOX_READY' });
    expect(listed.map((s) => s.id)).toEqual([sandboxId]);
  });

  it('creates and starts a container that sees its env values', async () => {
    const envs = [
      { key: 'GREETING', value: 'hello-from-kedge' },
      { key: 'TARGET', value: 'edge node 7' },
    ];
    appId = await env.cri.createContainer(sandboxId, container('app', APP_SCRIPT, { envs }), sandboxConfig);
    expect((await env.cri.containerStatus(appId)).state).toBe('CONTAINER_CREATED');
    await env.cri.startContainer(appId);
    const status = await env.cri.containerStatus(appId);
    expect(status).toMatchObject({ id: appId, state: 'CONTAINER_RUNNING', image: BUSYBOX_IMAGE, metadata: { name: 'app' } });
    expect(status.startedAt).toBeGreaterThan(0n);
    expect(status.finishedAt).toBe(0n);
    const listed = await env.cri.listContainers({ podSandboxId: sandboxId, state: 'CONTAINER_RUNNING' });
    expect(listed.map((c) => c.id)).toEqual([appId]);
  });

  it('writes stdout and stderr to the log file in CRI format', async () => {
    const logPath = join(sandboxConfig.logDirectory ?? '', 'app', '0.log');
    expect((await env.cri.containerStatus(appId)).logPath).toBe(logPath);
    const log = await waitUntil(() => {
      const text = readFileSync(logPath, 'utf8');
      return text.includes('target=') && text.includes('to-stderr') ? text : undefined;
    }, 'the container log');
    const lines = log.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\S+Z (stdout|stderr) [FP] /);
    expect(lines).toContainEqual(expect.stringMatching(/ stdout F greeting=hello-from-kedge$/));
    expect(lines).toContainEqual(expect.stringMatching(/ stdout F target=edge node 7$/));
    expect(lines).toContainEqual(expect.stringMatching(/ stderr F to-stderr$/));
  });

  it('ExecSync returns stdout, stderr and the exit code, inside the node network namespace', async () => {
    const result = await env.cri.execSync(appId, ['sh', '-c', 'echo "exec:$GREETING"; readlink /proc/self/ns/net; echo oops >&2; exit 3'], { timeoutSeconds: 5 });
    const [greeting, netns] = result.stdout.toString().trimEnd().split('\n');
    expect(greeting).toBe('exec:hello-from-kedge');
    expect(netns).toBe(readlinkSync('/proc/self/ns/net'));
    expect(result.stderr.toString()).toBe('oops\n');
    expect(result.exitCode).toBe(3);
  });

  it('Exec returns a streaming URL on the private stream server', async () => {
    const url = await env.cri.exec(appId, ['sh'], { stdin: true, tty: true });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/\S+$/);
  });

  it('StopContainer with a timeout stops gracefully: the TERM trap exits 42', async () => {
    await env.cri.stopContainer(appId, 10);
    // 42 comes only from the TERM trap: a SIGKILL after the timeout would give 137
    const status = await env.cri.containerStatus(appId);
    expect(status).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 42, reason: 'Error' });
    expect(status.finishedAt).toBeGreaterThanOrEqual(status.startedAt);
    await env.cri.stopContainer(appId, 1); // idempotent
  });

  it('StopContainer kills a container that ignores TERM once the timeout passes (137)', async () => {
    const stubbornId = await env.cri.createContainer(sandboxId, container('stubborn', STUBBORN_SCRIPT), sandboxConfig);
    try {
      await env.cri.startContainer(stubbornId);
      // a TERM that lands before the shell has set its trap would end it at once: wait for the trap
      const logPath = join(sandboxConfig.logDirectory ?? '', 'stubborn', '0.log');
      await waitUntil(() => (existsSync(logPath) && readFileSync(logPath, 'utf8').includes('stubborn') ? true : undefined), 'the stubborn container to set its trap');
      const started = Date.now();
      await env.cri.stopContainer(stubbornId, 1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(await env.cri.containerStatus(stubbornId)).toMatchObject({ state: 'CONTAINER_EXITED', exitCode: 137 });
    } finally {
      await env.cri.removeContainer(stubbornId);
    }
  });

  it('removes the container, then the sandbox', async () => {
    await env.cri.removeContainer(appId);
    await env.cri.removeContainer(appId); // idempotent
    expect(await env.cri.listContainers({ podSandboxId: sandboxId })).toEqual([]);
    await env.cri.stopPodSandbox(sandboxId);
    await env.cri.removePodSandbox(sandboxId);
    expect(await env.cri.listPodSandbox()).toEqual([]);
  });
});
