// The one-line gateway install, end to end: self-contained bundles (tools/package/gateway-bundle.ts) served
// by a real cloudcore (cloudHub.https.bundleDir), and install.sh run with `curl | sh` inside a minimal Debian
// bookworm rootfs that has no Node.js (debootstrap minbase + curl, cached; chroot in a private mount
// namespace, the host's network). Pods are off there (--no-pods): a containerd inside the chroot would need
// its own cgroups and CNI setup, and the pod path is covered by the pods e2e tests; what this proves is
// that the gateway needs nothing installed first. The arm64 bundle's kedgeadm join and edgecore run under
// qemu-aarch64-static. Hostile servers prove the script refuses before sending the token or installing.
// Slow (bundles ~1 min, rootfs once a week ~30 s): one file, one rootfs, one cloudcore.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createCertificateAuthority, issueServerCertificate, type CertificateAuthority } from '@kedge/pki';
import { requires } from '@kedge/testkit';
import { ARM64_SYSROOT, QEMU_AARCH64 } from '../package/cross-arm64';
import { buildGatewayBundle, type GatewayBundle } from '../package/gateway-bundle';
import { issueToken, isNodeConnected, startCloudCore, type CloudCoreHandle } from './cluster';
import { copyRootfs, ensureDebianRootfs, runInRootfs, spawnInRootfs } from './debian-rootfs';
import { KedgeProcess, kubectl, tempDir, waitFor } from './harness';

const needs = await requires('root', 'debootstrap', 'kubectl', 'cross-arm64', 'qemu-arm64');

const PREFIX = '/opt/kedge';
let work: string;
let rootfs: string;
let bundleDir: string;
let cloud: CloudCoreHandle;
let bundles: Record<'x64' | 'arm64', GatewayBundle>;
const processes: KedgeProcess[] = [];

const installLine = (port: number, args: string): string => `curl -fsSLk https://127.0.0.1:${port}/install.sh | sh -s -- ${args}`;

/** every path in the rootfs but the ones that change by themselves (/proc, /tmp, /dev) */
function rootfsListing(): string[] {
  const found = spawnSync('find', ['.', '-xdev', '-not', '-path', './proc/*', '-not', '-path', './tmp/*', '-not', '-path', './dev/*'], { cwd: rootfs, encoding: 'utf8' });
  return found.stdout.split('\n').filter(Boolean).sort();
}

async function nodeReady(nodeName: string): Promise<string> {
  const got = await kubectl({ kubeconfig: cloud.kubeconfig }, ['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return got.code === 0 ? got.stdout.trim() : `(kubectl: ${got.stderr.trim()})`;
}

/** the written edgecore.yaml with free local ports, so this test runs beside others on the host network */
function freeLocalPorts(configFile: string): void {
  const config = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(
    configFile,
    stringify({ ...config, metrics: { address: '127.0.0.1', port: 0 }, metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } }, eventBus: { internal: { address: '127.0.0.1', port: 0 } } }),
  );
}

interface SeenRequest {
  method: string;
  url: string;
  headers: string;
}

/** A TLS server that is not cloudcore: serves what `routes` give and records every request. */
async function hostileServer(tls: { certPem: string; keyPem: string }, routes: (url: string, port: number) => Buffer | string | undefined): Promise<{ port: number; seen: SeenRequest[]; server: Server }> {
  const seen: SeenRequest[] = [];
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: JSON.stringify(request.headers) });
    request.resume();
    const body = routes(request.url ?? '', (server.address() as AddressInfo).port);
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

const genuineScript = (port: number): string =>
  readFileSync(join(bundleDir, 'install.sh'), 'utf8')
    .replace("'__KEDGE_CLOUD_HOST__'", "'127.0.0.1'")
    .replace("'__KEDGE_HTTPS_PORT__'", `'${port}'`)
    .replace("'__KEDGE_WS_PORT__'", `'${cloud.ports.websocket}'`);

function cloudAuthority(): CertificateAuthority {
  return { certPem: readFileSync(join(cloud.dataDir, 'pki', 'ca.crt'), 'utf8'), keyPem: readFileSync(join(cloud.dataDir, 'pki', 'ca.key'), 'utf8') };
}

function expectTokenNotSent(seen: SeenRequest[], token: string): void {
  const secret = token.split('.')[2]!;
  for (const request of seen) {
    expect(request.method).toBe('GET');
    expect(request.url + request.headers).not.toContain(secret);
  }
}

needs.describe('gateway install', () => {
beforeAll(async () => {
    work = tempDir('gateway-install');
    const start = Date.now();
    const cached = ensureDebianRootfs();
    rootfs = copyRootfs(cached.dir, work);
    process.stderr.write(`[gateway-install] rootfs ${cached.built === 'cached' ? 'from cache' : `built in ${cached.built.toFixed(1)}s`}, copied in ${((Date.now() - start) / 1000).toFixed(1)}s\n`);
    bundleDir = join(work, 'bundles');
    const log = (line: string): void => void process.stderr.write(`[gateway-bundle] ${line}\n`);
    bundles = { x64: await buildGatewayBundle(bundleDir, 'x64', log), arm64: await buildGatewayBundle(bundleDir, 'arm64', log) };
    cloud = await startCloudCore({ bundleDir });
  }, 20 * 60_000);
  
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await cloud?.process.stop('SIGTERM');
    if (work) rmSync(work, { recursive: true, force: true });
  });

describe('one line, nothing installed first (Debian minbase rootfs, no Node.js)', () => {
  let before: string[];

  it('the rootfs has no Node.js, and cloudcore serves the script, the manifest and both bundles', async () => {
    const which = await runInRootfs(rootfs, 'command -v node nodejs; find / -xdev \\( -name node -o -name nodejs \\) -type f 2>/dev/null; echo end');
    expect(which.stdout.trim()).toBe('end');
    before = rootfsListing();
    const sums = await runInRootfs(rootfs, `curl -fsSk https://127.0.0.1:${cloud.ports.https}/bundles/SHA256SUMS`);
    expect(sums.stdout).toBe(`${bundles.arm64.sha256}  ${readdirSync(bundleDir).find((f) => f.endsWith('arm64.tar.gz'))}\n${bundles.x64.sha256}  ${readdirSync(bundleDir).find((f) => f.endsWith('x64.tar.gz'))}\n`);
    const script = await runInRootfs(rootfs, `curl -fsSk https://127.0.0.1:${cloud.ports.https}/install.sh`);
    expect(script.stdout).toContain(`HTTPS_PORT='${cloud.ports.https}'`);
    expect(script.stdout).toContain(`WS_PORT='${cloud.ports.websocket}'`);
  });

  it('without containerd and without --no-pods the script says what to install and stops before joining', async () => {
    const token = await issueToken(cloud, ['--node', 'gw-nopods']);
    const run = await runInRootfs(rootfs, installLine(cloud.ports.https, `--token ${token} --node-name gw-nopods`));
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toContain('containerd is not running here');
    expect(run.stderr).toContain('apt-get install containerd runc containernetworking-plugins');
    expect(run.stderr).toContain('nothing was downloaded, installed or joined');
    expect(existsSync(join(rootfs, PREFIX))).toBe(false);
    expect(await nodeReady('gw-nopods')).toMatch(/NotFound|not found/);
  });

  it('attack - a script server with another CA is refused before the token is sent', async () => {
    const token = await issueToken(cloud, ['--node', 'gw-hostile']);
    const foreignCa = await createCertificateAuthority({ commonName: 'not-the-cluster' });
    const tls = await issueServerCertificate(foreignCa, { commonName: 'imposter', ipAddresses: ['127.0.0.1'] });
    const hostile = await hostileServer(tls, (url, port) => (url === '/install.sh' ? genuineScript(port) : url === '/ca.crt' ? foreignCa.certPem : undefined));
    try {
      const run = await runInRootfs(rootfs, installLine(hostile.port, `--token ${token} --node-name gw-hostile --no-pods`));
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).toMatch(/refusing: the CA served by https:\/\/127\.0\.0\.1:\d+ has sha256 [0-9a-f]{64}, but the token pins/);
      expect(hostile.seen.map((r) => r.url)).toEqual(['/install.sh', '/ca.crt']);
      expectTokenNotSent(hostile.seen, token);
      expect(existsSync(join(rootfs, PREFIX))).toBe(false);
    } finally {
      hostile.server.close();
    }
  });

  it('attack - a bundle whose digest does not match, or a manifest naming ../ paths, is refused and nothing is installed', async () => {
    const token = await issueToken(cloud, ['--node', 'gw-tampered']);
    // even a server holding a certificate of the cluster CA (a stolen serving key) cannot slip in another bundle
    const tls = await issueServerCertificate(cloudAuthority(), { commonName: 'imposter', ipAddresses: ['127.0.0.1'] });
    const name = bundles.x64.file.split('/').pop()!;
    const tampered = readFileSync(bundles.x64.file);
    const flipped = tampered.length - 100;
    tampered[flipped] = tampered[flipped]! ^ 0xff;
    const genuineSums = `${bundles.x64.sha256}  ${name}\n`;
    let sums = genuineSums;
    const hostile = await hostileServer(tls, (url, port) => {
      if (url === '/install.sh') return genuineScript(port);
      if (url === '/ca.crt') return cloudAuthority().certPem;
      if (url === '/bundles/SHA256SUMS') return sums;
      if (url === `/bundles/${name}`) return tampered;
      return undefined;
    });
    try {
      const mismatch = await runInRootfs(rootfs, installLine(hostile.port, `--token ${token} --node-name gw-tampered --no-pods`));
      expect(mismatch.code, mismatch.stderr).toBe(6);
      expect(mismatch.stderr).toMatch(new RegExp(`refusing: ${name.replaceAll('.', '\\.')} has sha256 [0-9a-f]{64}, but the cloud's SHA256SUMS says ${bundles.x64.sha256}; nothing was installed`));
      expect(existsSync(join(rootfs, PREFIX))).toBe(false);

      sums = `${createHash('sha256').update(tampered).digest('hex')}  ../../etc/cron.d/kedge\n${genuineSums}`;
      hostile.seen.length = 0;
      const traversal = await runInRootfs(rootfs, installLine(hostile.port, `--token ${token} --node-name gw-tampered --no-pods`));
      expect(traversal.code, traversal.stderr).toBe(5);
      expect(traversal.stderr).toContain('names something that is not a plain bundle file name');
      expect(hostile.seen.map((r) => r.url)).not.toContain(`/bundles/${name}`);
      expect(existsSync(join(rootfs, PREFIX))).toBe(false);
      expect(existsSync(join(rootfs, 'etc', 'cron.d', 'kedge'))).toBe(false);
      expectTokenNotSent(hostile.seen, token);
    } finally {
      hostile.server.close();
    }
    // the token was never used: the real cloud still lists it unused
    expect(await nodeReady('gw-tampered')).toMatch(/NotFound|not found/);
  });

  it('the x64 bundle joins with --no-pods, edgecore starts from it and the node reports Ready; a second run changes nothing', async () => {
    const token = await issueToken(cloud, ['--node', 'gw-deb']);
    const line = installLine(cloud.ports.https, `--token ${token} --node-name gw-deb --labels site=lab --no-pods`);
    const first = await runInRootfs(rootfs, line);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/cluster CA sha256 [0-9a-f]{64} matches the token/);
    expect(first.stderr).toContain('systemd is not running here');
    const start = /^start edgecore: (.+)$/m.exec(first.stdout)?.[1];
    expect(start).toBe(`${PREFIX}/bin/edgecore --config ${PREFIX}/etc/edgecore.yaml`);
    const config = parse(readFileSync(join(rootfs, PREFIX, 'etc', 'edgecore.yaml'), 'utf8')) as { edged: { enable: boolean }; nodeName: string };
    expect(config).toMatchObject({ nodeName: 'gw-deb', edged: { enable: false } });
    const releases = readdirSync(join(rootfs, PREFIX, 'releases'));
    expect(releases).toHaveLength(1);

    freeLocalPorts(join(rootfs, PREFIX, 'etc', 'edgecore.yaml'));
    const edge = new KedgeProcess('edgecore (chroot)', spawnInRootfs(rootfs, `exec ${start}`));
    processes.push(edge);
    await cloud.process.waitForLog(isNodeConnected('gw-deb'), 'gw-deb connected from the chroot', 90_000);
    await waitFor(async () => (await nodeReady('gw-deb')) === 'True', 'gw-deb Ready', { timeoutMs: 90_000, intervalMs: 1000 });
    // the bundled edgecore serves DMI: its proto shipped in the bundle loads, the owner-only socket is bound
    const dmi = await edge.waitForLog((l) => l.msg === 'DMI DeviceManagerService listening', 'DMI listening from the bundle');
    expect(existsSync(join(rootfs, String(dmi.socket)))).toBe(true);
    const node = JSON.parse((await kubectl({ kubeconfig: cloud.kubeconfig }, ['get', 'node', 'gw-deb', '-o', 'json'])).stdout) as {
      metadata: { labels: Record<string, string> };
      status: { nodeInfo: { architecture: string } };
    };
    expect(node.metadata.labels['site']).toBe('lab');
    expect(node.status.nodeInfo.architecture).toBe('amd64');

    // safe to run twice: the bundle is not fetched again, the node not joined again (the token is spent anyway)
    const record = readFileSync(join(rootfs, PREFIX, '.install-written'), 'utf8');
    const second = await runInRootfs(rootfs, line);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('is already installed');
    expect(second.stderr).toContain('already joined as gw-deb');
    expect(readdirSync(join(rootfs, PREFIX, 'releases'))).toEqual(releases);
    expect(readFileSync(join(rootfs, PREFIX, '.install-written'), 'utf8')).toBe(record);
    const nodes = (await kubectl({ kubeconfig: cloud.kubeconfig }, ['get', 'nodes', '-o', 'name'])).stdout.split('\n').filter((n) => n === 'node/gw-deb');
    expect(nodes).toHaveLength(1);
    expect(edge.running).toBe(true);
    await edge.stop('SIGTERM');
  });

  it('--uninstall (with kedgeadm reset) leaves the rootfs exactly as it was', async () => {
    const run = await runInRootfs(rootfs, `curl -fsSLk https://127.0.0.1:${cloud.ports.https}/install.sh | sh -s -- --uninstall`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`kedgeadm reset --prefix ${PREFIX}/etc`);
    expect(existsSync(join(rootfs, PREFIX))).toBe(false);
    expect(rootfsListing()).toEqual(before);
  });
});

describe('the arm64 bundle under qemu-aarch64-static', () => {
  it('its kedgeadm joins and its edgecore starts and reports Ready as an arm64 node', { timeout: 10 * 60_000 }, async () => {
    const dir = join(work, 'arm64');
    mkdirSync(dir);
    expect(spawnSync('tar', ['-xzf', bundles.arm64.file, '-C', dir]).status).toBe(0);
    const root = join(dir, readdirSync(dir)[0]!);
    // the bundle's own runtime, run by qemu (no binfmt_misc here): KEDGE_NODE swaps in this wrapper
    const wrapper = join(dir, 'node-arm64');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${QEMU_AARCH64} -L ${ARM64_SYSROOT} "${join(root, 'node', 'bin', 'node')}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const env = { ...process.env, KEDGE_NODE: wrapper };
    const token = await issueToken(cloud, ['--node', 'gw-arm']);
    const prefix = join(dir, 'etc');
    const join_ = spawnSync(
      join(root, 'bin', 'kedgeadm'),
      ['join', '--cloud', '127.0.0.1', '--https-port', String(cloud.ports.https), '--ws-port', String(cloud.ports.websocket), '--node-name', 'gw-arm', '--token', '-', '--no-pods', '--prefix', prefix, '--data-dir', join(dir, 'data'), '--edgecore-command', join(root, 'bin', 'edgecore')],
      { env, input: `${token}\n`, encoding: 'utf8', timeout: 5 * 60_000 },
    );
    expect(join_.status, join_.stderr).toBe(0);
    expect(existsSync(join(dir, 'data', 'pki', 'node.crt'))).toBe(true);
    freeLocalPorts(join(prefix, 'edgecore.yaml'));
    const { spawn } = await import('node:child_process');
    const edge = new KedgeProcess('edgecore (arm64, qemu)', spawn(join(root, 'bin', 'edgecore'), ['--config', join(prefix, 'edgecore.yaml')], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    processes.push(edge);
    await cloud.process.waitForLog(isNodeConnected('gw-arm'), 'gw-arm connected', 5 * 60_000);
    await waitFor(async () => (await nodeReady('gw-arm')) === 'True', 'gw-arm Ready', { timeoutMs: 3 * 60_000, intervalMs: 1000 });
    const arch = await kubectl({ kubeconfig: cloud.kubeconfig }, ['get', 'node', 'gw-arm', '-o', 'jsonpath={.status.nodeInfo.architecture}']);
    expect(arch.stdout).toBe('arm64');
    await edge.stop('SIGTERM');
  });
});
});
