// The same path with the real processes: cloudcore (embedded API server + cloudstream) and edgecore
// (edged pod workers + edgestream) on a private containerd; kubectl logs/exec/attach/port-forward on pods
// edged started.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, writeTokenFile, type CloudCoreHandle } from './cluster';
import { fetchMetrics, kubectl, kubectlOk, metricSum, startApp, waitFor, writeYaml, type KedgeProcess } from './harness';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-stream-proc';

needs.describe('streams - cloudcore and edgecore processes', () => {
  let dir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle | undefined;
  let edge: KedgeProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksp-'));
    containerd = await startPrivateContainerd(join(dir, 'ctd'));
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', NODE]);
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir, { recursive: true });
    const configFile = writeYaml(join(edgeDir, 'edgecore.yaml'), {
      nodeName: NODE,
      dataDir: edgeDir,
      edgeHub: {
        protocol: 'websocket',
        server: `127.0.0.1:${cloud.ports.websocket}`,
        httpServer: `https://127.0.0.1:${cloud.ports.https}`,
        heartbeatSeconds: 1,
        reconnect: { initialDelayMs: 100, maxDelayMs: 2_000 },
      },
      metrics: { address: '127.0.0.1', port: 0 },
      metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } },
      eventBus: { internal: { address: '127.0.0.1', port: 0 } },
      edged: { enable: true, containerRuntimeEndpoint: `unix://${containerd.socketPath}`, podsDir: join(edgeDir, 'pods') },
      log: { level: 'debug' },
    });
    edge = startApp('edgecore', ['--config', configFile, '--token-file', writeTokenFile(edgeDir, token)]);
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
  });
  afterAll(async () => {
    await edge?.stop();
    await cloud?.process.stop();
    await containerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('streams - logs and exec reach a pod that edged runs', async () => {
    const admin = { kubeconfig: cloud!.kubeconfig };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'proc-pod', namespace: 'default' },
      spec: { nodeName: NODE, containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo from-edged; sleep 3600'] }] },
    };
    await kubectlOk(admin, ['create', '-f', '-'], JSON.stringify(pod));
    await waitFor(async () => (await kubectl(admin, ['logs', 'proc-pod'])).stdout.includes('from-edged'), 'the pod log through cloudcore', { timeoutMs: 90_000 });
    const exec = await kubectl(admin, ['exec', 'proc-pod', '--', 'sh', '-c', 'echo in-pod; exit 5']);
    expect(exec.stdout).toBe('in-pod\n');
    expect(exec.code).toBe(5);
  });

  it('streams - attach and port-forward reach a pod that edged runs', async () => {
    const admin = { kubeconfig: cloud!.kubeconfig };
    const web = 'mkdir -p /www && echo from-edged-web > /www/index.html && exec httpd -f -p 8080 -h /www';
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'proc-web', namespace: 'default' },
      spec: {
        nodeName: NODE,
        containers: [
          { name: 'web', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', web] },
          { name: 'ticker', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'] },
          // stdin from the pod spec reaches CRI: without it `read` sees end of input at once
          { name: 'console', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', stdin: true, command: ['sh', '-c', 'while read line; do echo "got $line"; done'] },
        ],
      },
    };
    await kubectlOk(admin, ['create', '-f', '-'], JSON.stringify(pod));
    // kubectl port-forward wants the phase edged reports
    await waitFor(async () => (await kubectl(admin, ['get', 'pod', 'proc-web', '-o', 'jsonpath={.status.phase}'])).stdout === 'Running', 'the pod to run', { timeoutMs: 90_000 });

    const attach = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'attach', 'proc-web', '-c', 'ticker'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ticks = '';
    attach.stdout.on('data', (c: Buffer) => (ticks += c.toString()));
    try {
      await waitFor(() => ticks.includes('tick\ntick\n'), 'the ticker output through attach', { timeoutMs: 30_000 });
    } finally {
      if (attach.pid !== undefined && attach.exitCode === null) process.kill(attach.pid, 'SIGTERM');
    }

    const console = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'attach', '-i', 'proc-web', '-c', 'console'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let replies = '';
    console.stdout.on('data', (c: Buffer) => (replies += c.toString()));
    try {
      // kubectl may connect after the first line is written: keep sending until the echo arrives
      await waitFor(
        () => {
          console.stdin.write('hello\n');
          return replies.includes('got hello');
        },
        'the console container to answer through attach -i',
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    } finally {
      if (console.pid !== undefined && console.exitCode === null) process.kill(console.pid, 'SIGTERM');
    }

    const forward = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'port-forward', '--address', '127.0.0.1', 'pod/proc-web', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    forward.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await waitFor(() => /Forwarding from 127\.0\.0\.1:\d+/.test(out), 'kubectl port-forward to listen');
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
      let body = '';
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            get({ host: '127.0.0.1', port, path: '/index.html', agent: false }, (response) => {
              response.on('data', (c: Buffer) => (body += c.toString()));
              response.on('end', () => resolve(body === 'from-edged-web\n'));
            }).on('error', () => resolve(false));
          }),
        'the page through the forward',
        { timeoutMs: 30_000 },
      );
      expect(body).toBe('from-edged-web\n');
    } finally {
      if (forward.pid !== undefined && forward.exitCode === null) process.kill(forward.pid, 'SIGTERM');
    }

    // both ends count the streams they carried, by kind
    const cloudMetrics = await fetchMetrics(cloud!.ports.metrics);
    for (const kind of ['attach', 'portforward']) {
      expect(metricSum(cloudMetrics, 'kedge_cloudstream_streams_opened_total', { kind }), `cloud ${kind}`).toBeGreaterThan(0);
    }
    const edgePorts = edge!.logs.find((l) => l.msg === 'edgecore ready')?.ports as { metrics?: number } | undefined;
    const edgeMetrics = await fetchMetrics(Number(edgePorts?.metrics));
    expect(metricSum(edgeMetrics, 'kedge_edgestream_streams_opened_total', { kind: 'portforward' }), 'edge portforward').toBeGreaterThan(0);
  });
});
