// kubectl attach and kubectl port-forward for edge pods through the cloud: the REAL kubectl → embedded
// API server → cloudstream (channel WebSocket for attach, SPDY/3.1 in a WebSocket for port-forward) →
// CloudHub → the edge's hub session → edgestream → REAL containerd (CRI Attach; the pod's IP on the CNI
// bridge for port-forward).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PRIVATE_CONTAINERD_NEEDS } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { kubectl, kubectlOk, waitFor } from './harness';
import { NODE, startStreamsWorld, type RunningPod, type StreamsWorld } from './streams-fixture';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const terminal = await requires('script');

// busybox httpd with a page and a CGI that answers after a second, so two requests in flight overlap
const WEB_SCRIPT = [
  'mkdir -p /www/cgi-bin',
  'echo hello-from-pod > /www/index.html',
  'printf "#!/bin/sh\\nsleep 1\\nprintf \\"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\nslow-%%s\\\\n\\" \\"\\$QUERY_STRING\\"\\n" > /www/cgi-bin/slow',
  'chmod +x /www/cgi-bin/slow',
  'printf "#!/bin/sh\\nprintf \\"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n\\"\\nwc -c\\n" > /www/cgi-bin/count',
  'chmod +x /www/cgi-bin/count',
  'dd if=/dev/urandom of=/www/big bs=1024 count=3072 2>/dev/null',
  'exec httpd -f -p 8080 -h /www',
].join(' && ');

interface PodContainer {
  name: string;
  stdin?: boolean;
  tty?: boolean;
}

function podManifest(name: string, containers: PodContainer[]): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: NODE, containers: containers.map((c) => ({ image: 'localhost/kedge/busybox:1', ...c })) },
  });
}

function httpExchange(port: number, method: 'GET' | 'POST', path: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // agent: false → a new TCP connection per request, so each is its own forwarded connection
    const headers = body ? { 'content-length': String(body.length), 'content-type': 'application/octet-stream' } : {};
    const request = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent: false, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${path} timed out`)));
    request.on('error', reject);
    request.end(body);
  });
}

async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const { status, body } = await httpExchange(port, 'GET', path);
  return { status, body: body.toString() };
}

interface PortForward {
  child: ChildProcessWithoutNullStreams;
  /** pod port → local port */
  localPorts: Map<number, number>;
  stderr(): string;
  stop(): Promise<void>;
}

async function startPortForward(kubeconfig: string, pod: string, podPorts: number[], env: NodeJS.ProcessEnv = {}): Promise<PortForward> {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'port-forward', '--address', '127.0.0.1', `pod/${pod}`, ...podPorts.map((p) => `:${p}`)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const stop = async (): Promise<void> => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    await exited;
  };
  const localPorts = new Map<number, number>();
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`kubectl port-forward exited (${child.exitCode}): ${err}`);
        for (const match of out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)) localPorts.set(Number(match[2]), Number(match[1]));
        return podPorts.every((p) => localPorts.has(p));
      },
      'kubectl port-forward to listen',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, localPorts, stderr: () => err, stop };
}

needs.describe('streams - kubectl attach and port-forward through the hub', () => {
  let world: StreamsWorld;
  let admin: { kubeconfig: string };
  let web: RunningPod;

  beforeAll(async () => {
    world = await startStreamsWorld();
    admin = { kubeconfig: world.apiServer.adminKubeconfigPath };
    await world.runPod('console', 'NODE', [
      { name: 'shell', command: ['sh'], stdin: true, tty: true },
      { name: 'reader', command: ['sh', '-c', 'while read line; do echo got-$line; done'], stdin: true },
    ]);
    web = await world.runPod('web', 'POD', [{ name: 'httpd', command: ['sh', '-c', WEB_SCRIPT] }]);
    await kubectlOk(admin, ['create', '-f', '-'], podManifest('console', [{ name: 'shell', stdin: true, tty: true }, { name: 'reader', stdin: true }]));
    await kubectlOk(admin, ['create', '-f', '-'], podManifest('web', [{ name: 'httpd' }]));
    // kubectl port-forward and attach look at the phase edged would report
    for (const pod of ['console', 'web']) {
      await kubectlOk(admin, ['patch', 'pod', pod, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
    }
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  });

  it('streams - kubectl attach -i passes stdin to the main process and detaches cleanly', async () => {
    const child = spawn('kubectl', ['--kubeconfig', admin.kubeconfig, 'attach', '-i', 'console', '-c', 'reader'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      // typed after the attach is up: what the process reads before that is not ours to see
      await waitFor(() => world.cloudStream.table.countFor(NODE) === 1, 'the attach stream');
      await waitFor(
        () => {
          child.stdin.write('ping\n');
          return out.includes('got-ping');
        },
        'the echoed line',
        { timeoutMs: 20_000 },
      );
    } finally {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
    await waitFor(() => world.cloudStream.table.countFor(NODE) === 0 && world.edgeStream.openStreams === 0, 'both ends to drop the stream');
    // detaching leaves the container running
    const status = await world.cri.containerStatus((await world.cri.listContainers({ labelSelector: { 'io.kubernetes.container.name': 'reader' } }))[0]?.id ?? '');
    expect(status.state).toBe('CONTAINER_RUNNING');
  });

  terminal.it('streams - kubectl attach -it runs on the container terminal and ends when the container exits', async () => {
    // `script` gives kubectl a pseudo-terminal, so it asks for tty=true and sends stdin and resizes
    // the terminal kubectl runs on has a size of its own, which reaches the container's terminal (resize channel)
    const command = `stty rows 33 cols 99; kubectl --kubeconfig ${admin.kubeconfig} attach -it console -c shell`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 40_000);
    try {
      await waitFor(() => world.cloudStream.table.countFor(NODE) === 1, 'the attach stream');
      await waitFor(
        () => {
          child.stdin.write('echo hi-$((40+2)) on $(tty) sized $(stty size)\n');
          return /hi-42 on \/dev\/pts\/\d+ sized 33 99/.test(out);
        },
        'the shell to answer',
        { timeoutMs: 20_000 },
      );
      child.stdin.write('exit\n');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      // the shell is the container's main process: it exited, so the attach ended on its own, successfully
      expect(code).toBe(0);
    } finally {
      clearTimeout(timer);
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }
    await waitFor(() => world.cloudStream.table.countFor(NODE) === 0 && world.edgeStream.openStreams === 0, 'both ends to drop the stream');
  });

  it('streams - kubectl port-forward carries concurrent connections to the pod', async () => {
    expect(web.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const sessions = world.cloudStream.table.metrics.portForwardSessions;
    const forward = await startPortForward(admin.kubeconfig, 'web', [8080]);
    try {
      const local = forward.localPorts.get(8080) ?? 0;
      const page = await httpGet(local, '/index.html');
      expect(page).toEqual({ status: 200, body: 'hello-from-pod\n' });
      const started = Date.now();
      const [first, second] = await Promise.all([httpGet(local, '/cgi-bin/slow?a'), httpGet(local, '/cgi-bin/slow?b')]);
      expect(first).toEqual({ status: 200, body: 'slow-a\n' });
      expect(second).toEqual({ status: 200, body: 'slow-b\n' });
      // each answers after a second: both were in flight at once, on two streams of one forward
      expect(Date.now() - started).toBeLessThan(1900);
      await waitFor(() => world.edgeStream.openStreams === 0, 'the finished connections to be closed on the edge');
    } finally {
      await forward.stop();
    }
    expect(forward.stderr()).not.toContain('error');
    // kubectl 1.32 tunnels SPDY in a WebSocket and did not need its SPDY fallback
    expect((await sessions.get()).values).toEqual([expect.objectContaining({ labels: { transport: 'websocket' }, value: 1 })]);
  });

  it('streams - kubectl port-forward moves megabytes both ways within the stream windows', async () => {
    const forward = await startPortForward(admin.kubeconfig, 'web', [8080]);
    try {
      const local = forward.localPorts.get(8080) ?? 0;
      const [download, sum] = await Promise.all([httpExchange(local, 'GET', '/big'), world.cri.execSync(web.containerIds.httpd ?? '', ['sha256sum', '/www/big'])]);
      expect(download.body.length).toBe(3 * 1024 * 1024);
      expect(createHash('sha256').update(download.body).digest('hex')).toBe(sum.stdout.toString().split(' ')[0]);
      const upload = await httpExchange(local, 'POST', '/cgi-bin/count', randomBytes(3 * 1024 * 1024));
      expect(upload.body.toString().trim()).toBe(String(3 * 1024 * 1024));
    } finally {
      await forward.stop();
    }
    await waitFor(() => world.cloudStream.table.countFor(NODE) === 0 && world.edgeStream.openStreams === 0, 'both ends to drop the streams');
  });

  it('streams - kubectl port-forward over plain SPDY (its fallback) works as well', async () => {
    const forward = await startPortForward(admin.kubeconfig, 'web', [8080], { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' });
    try {
      expect(await httpGet(forward.localPorts.get(8080) ?? 0, '/index.html')).toEqual({ status: 200, body: 'hello-from-pod\n' });
    } finally {
      await forward.stop();
    }
    const spdy = (await world.cloudStream.table.metrics.portForwardSessions.get()).values.find((v) => v.labels.transport === 'spdy');
    expect(spdy?.value).toBe(1);
  });

  it('streams - kubectl port-forward to a closed pod port shows the error on the connection', async () => {
    const forward = await startPortForward(admin.kubeconfig, 'web', [8080, 8081]);
    try {
      await expect(httpGet(forward.localPorts.get(8081) ?? 0, '/')).rejects.toThrow();
      await waitFor(() => forward.stderr().includes('-> 8081'), 'kubectl to report the error');
      expect(forward.stderr()).toMatch(
        /an error occurred forwarding \d+ -> 8081: error forwarding port 8081 to pod default\/web: failed to connect to [\d.]+:8081: connect ECONNREFUSED/,
      );
      // kubectl (since 1.23, against a kubelet too) ends the whole forward after any connection error;
      // the server side keeps the session (libs/cloud/cloudstream/test/port-forward-tunnel.test.ts shows it)
      const code = await new Promise<number | null>((resolve) => (forward.child.exitCode !== null ? resolve(forward.child.exitCode) : forward.child.once('exit', resolve)));
      expect(code).toBe(1);
      expect(forward.stderr()).toContain('lost connection to pod');
    } finally {
      await forward.stop();
    }
    await waitFor(() => world.cloudStream.table.countFor(NODE) === 0 && world.edgeStream.openStreams === 0, 'both ends to drop the streams');
    // nothing of the node's tunnel was harmed: the next forward works at once
    const again = await startPortForward(admin.kubeconfig, 'web', [8080]);
    try {
      expect((await httpGet(again.localPorts.get(8080) ?? 0, '/index.html')).body).toBe('hello-from-pod\n');
    } finally {
      await again.stop();
    }
    expect((await world.cloudStream.table.metrics.refusedFrames.get()).values).toEqual([]);
  });

  it('streams - port-forward to a pod of a node without a session is refused', async () => {
    await kubectlOk(admin, ['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'far-away', namespace: 'default' }, spec: { nodeName: 'ghost-node', containers: [{ name: 'c', image: 'x' }] } }));
    await kubectlOk(admin, ['patch', 'pod', 'far-away', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
    const result = await kubectl(admin, ['port-forward', 'pod/far-away', ':8080']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('has no live session');
  });
});
