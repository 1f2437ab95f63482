// kubectl debug end to end with the real processes: cloudcore (embedded API server, pods/ephemeralcontainers)
// and edgecore (edged on a PRIVATE containerd). An ephemeral container added by kubectl 1.32 runs in the
// pod's sandbox, joins its target's PID namespace, is attached with -it through the existing attach
// path, and its log is readable; `kubectl debug node/<edge>` is refused by the node's default pod security.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from './cluster';
import { kubectl, kubectlOk, stopAll, waitFor } from './harness';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-debug';
// a process only the app container's PID namespace shows
const MARKER = 'sleep 86398';

needs.describe('debug - kubectl debug against cloudcore, edgecore and containerd', () => {
  let dir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cloud.kubeconfig });
  const jsonpath = async (pod: string, path: string): Promise<string> => {
    const result = await kubectl(admin(), ['get', 'pod', pod, '-o', `jsonpath={${path}}`]);
    return result.code === 0 ? result.stdout : '';
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kdb-'));
    containerd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.244.0/24', bridgeName: 'kedge-cni-dbg' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    cloud = await startCloudCore();
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir);
    // the default pod security: no privileged, no host namespaces, no hostPath
    startEdgeCore(cloud, { nodeName: NODE, token: await issueToken(cloud, ['--node', NODE]), dataDir: edgeDir, edged: { containerRuntimeEndpoint: `unix://${containerd.socketPath}` } });
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
    await waitFor(async () => (await kubectl(admin(), ['get', 'node', NODE])).code === 0, 'the node registered', { intervalMs: 200 });
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', `${MARKER} & while true; do sleep 1 & wait $!; done`] }] },
    };
    await kubectlOk(admin(), ['create', '-f', '-'], JSON.stringify(pod));
    await waitFor(async () => (await jsonpath('web', '.status.containerStatuses[0].state.running.startedAt')) !== '', 'the pod running', { timeoutMs: 90_000 });
  });

  afterAll(async () => {
    await stopAll();
    await containerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('debug - kubectl debug <pod> -- sh -c "echo hi" runs once; kubectl logs -c shows hi; the status says terminated 0', async () => {
    const appId = await jsonpath('web', '.status.containerStatuses[0].containerID');
    await kubectlOk(admin(), ['debug', 'web', `--image=${BUSYBOX_IMAGE}`, '--image-pull-policy=Never', '-c', 'hello', '--', 'sh', '-c', 'echo hi']);
    await waitFor(async () => (await jsonpath('web', '.status.ephemeralContainerStatuses[?(@.name=="hello")].state.terminated.exitCode')) === '0', 'the debug container finished', { timeoutMs: 90_000 });
    expect((await kubectl(admin(), ['logs', 'web', '-c', 'hello'])).stdout).toBe('hi\n');
    // the pod went on: same app container, Running
    expect(await jsonpath('web', '.status.containerStatuses[0].containerID')).toBe(appId);
    expect(await jsonpath('web', '.status.phase')).toBe('Running');
  });

  it('debug - kubectl debug -it --target attaches; a typed command answers from the target PID namespace', async () => {
    // kubectl wants a terminal for -t: script(1) gives it one, as an operator's shell would
    const command = `kubectl --kubeconfig ${cloud.kubeconfig} debug -it web --image=${BUSYBOX_IMAGE} --image-pull-policy=Never --target=app -c shell -- sh`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      await waitFor(async () => (await jsonpath('web', '.status.ephemeralContainerStatuses[?(@.name=="shell")].state.running.startedAt')) !== '', 'the shell running', { timeoutMs: 90_000 });
      // typed until the attached shell answers (the first keystrokes may come before the attach is up)
      await waitFor(
        async () => {
          child.stdin.write(`echo typed-$((40+2)); ps\n`);
          await new Promise((resolve) => setTimeout(resolve, 500));
          return output.includes('typed-42') && output.includes(MARKER);
        },
        `the attached shell to answer (output so far: ${JSON.stringify(output.slice(-400))})`,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      child.stdin.write('exit\n');
      await waitFor(async () => (await jsonpath('web', '.status.ephemeralContainerStatuses[?(@.name=="shell")].state.terminated.exitCode')) === '0', 'the shell exited', { timeoutMs: 60_000 });
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
    const spec = JSON.parse(await kubectlOk(admin(), ['get', 'pod', 'web', '-o', 'jsonpath={.spec.ephemeralContainers[?(@.name=="shell")]}']));
    expect(spec).toEqual(expect.objectContaining({ targetContainerName: 'app', stdin: true, tty: true }));
  });

  it('debug - kubectl debug node/<edge> is refused by the default pod security with a clear reason on the pod', async () => {
    const created = await kubectlOk(admin(), ['debug', `node/${NODE}`, `--image=${BUSYBOX_IMAGE}`, '--image-pull-policy=Never', '--', 'sh', '-c', 'echo on-the-host']);
    const pod = /node-debugger-[a-z0-9-]+/.exec(created)?.[0];
    expect(pod, created).toBeDefined();
    await waitFor(async () => (await jsonpath(pod!, '.status.reason')) === 'PodSecurityRefused', 'the node debugger refused', { timeoutMs: 90_000 });
    expect(await jsonpath(pod!, '.status.phase')).toBe('Failed');
    const message = await jsonpath(pod!, '.status.message');
    expect(message).toContain('spec.hostNetwork');
    expect(message).toContain('spec.hostPID');
    expect(message).toContain('spec.hostIPC');
    expect(message).toContain('spec.volumes[0].hostPath.path: "/" is outside the host paths this node allows');
    await kubectlOk(admin(), ['delete', 'pod', pod!, '--wait=false']);
  });
});
