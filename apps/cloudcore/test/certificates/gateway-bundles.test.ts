// /install.sh and /bundles/ on the certificate port: what is listed at start, what the script is filled in
// with, and that no request path reaches a file that was not listed (traversal, encodings, symlinks).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JoinTokenLedger, createCertificateAuthority, issueServerCertificate, type CertificateAuthority, type IssuedCertificate } from '@kedge/pki';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayBundles, startCertificateServer, type CertificateServerEvent, type GatewayBundles } from '../../src/certificates/index';
import { call } from './https-client';

let authority: CertificateAuthority;
let serverCert: IssuedCertificate;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  authority = await createCertificateAuthority();
  serverCert = await issueServerCertificate(authority, { commonName: 'cloudcore', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SCRIPT = "#!/bin/sh\nCLOUD_HOST='__KEDGE_CLOUD_HOST__'\nHTTPS_PORT='__KEDGE_HTTPS_PORT__'\nWS_PORT='__KEDGE_WS_PORT__'\n";
const X64 = 'kedge-gateway-0.1.0-linux-x64.tar.gz';
const ARM64 = 'kedge-gateway-0.1.0-linux-arm64.tar.gz';

function bundleDir(): { dir: string; secret: string } {
  const root = mkdtempSync(join(tmpdir(), 'kedge-bundles-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'bundles');
  mkdirSync(dir);
  writeFileSync(join(dir, 'install.sh'), SCRIPT);
  writeFileSync(join(dir, X64), 'x64 bundle bytes');
  // things beside the bundles that must never be served
  const secret = join(root, 'ca.key');
  writeFileSync(secret, 'SECRET-KEY-MATERIAL');
  writeFileSync(join(dir, 'notes.txt'), 'SECRET-NOTES');
  symlinkSync(secret, join(dir, ARM64)); // a bundle name, but a symlink out of the directory
  return { dir, secret };
}

async function start(bundles: GatewayBundles | undefined): Promise<{ port: number; events: CertificateServerEvent[] }> {
  const ledgerDir = mkdtempSync(join(tmpdir(), 'kedge-ledger-'));
  cleanups.push(() => rmSync(ledgerDir, { recursive: true, force: true }));
  const events: CertificateServerEvent[] = [];
  const server = await startCertificateServer({
    host: '127.0.0.1',
    port: 0,
    authority,
    serverCert,
    ledger: new JoinTokenLedger(ledgerDir),
    nodeExists: async () => false,
    onEvent: (event) => events.push(event),
    ...(bundles === undefined ? {} : { gatewayBundles: bundles }),
    installScriptAddress: { hosts: ['127.0.0.1', 'localhost'], webSocketPort: () => 10400 },
  });
  cleanups.push(() => server.close());
  return { port: server.port, events };
}

describe('gateway installer routes', () => {
  it('lists only regular bundle files and install.sh at start, with their sha256', async () => {
    const { dir } = bundleDir();
    const bundles = await loadGatewayBundles(dir);
    expect([...bundles.bundles.keys()]).toEqual([X64]);
    expect(bundles.bundles.get(X64)?.sha256).toBe(createHash('sha256').update('x64 bundle bytes').digest('hex'));
    expect(bundles.installScript).toBe(SCRIPT);
    expect(bundles.skipped).toEqual(
      expect.arrayContaining([
        { name: ARM64, why: 'not a regular file (symlinks are not followed)' },
        { name: 'notes.txt', why: expect.stringContaining('not install.sh') },
      ]),
    );
    await expect(loadGatewayBundles(join(dir, 'missing'))).rejects.toThrow(/cloudHub\.https\.bundleDir .*missing: cannot be read \(ENOENT\); build them with/);
  });

  it('serves the script filled in with the requested certificate name and the hub port, the manifest and the bundle', async () => {
    const { dir } = bundleDir();
    const { port, events } = await start(await loadGatewayBundles(dir));
    const script = await call(port, authority.certPem, { path: '/install.sh', headers: { Host: `localhost:${port}` } });
    expect(script.status).toBe(200);
    expect(script.text).toBe(`#!/bin/sh\nCLOUD_HOST='localhost'\nHTTPS_PORT='${port}'\nWS_PORT='10400'\n`);
    // a Host the certificate does not name (or a shell injection) is never echoed: the first advertised address is used
    const injected = await call(port, authority.certPem, { path: '/install.sh', headers: { Host: "evil.example';rm -rf /;'" } });
    expect(injected.text).toContain("CLOUD_HOST='127.0.0.1'");
    expect(injected.text).not.toContain('evil');
    const sums = await call(port, authority.certPem, { path: '/bundles/SHA256SUMS' });
    expect(sums.text).toBe(`${createHash('sha256').update('x64 bundle bytes').digest('hex')}  ${X64}\n`);
    const manifest = await call(port, authority.certPem, { path: '/bundles/manifest.json' });
    expect(JSON.parse(manifest.text)).toEqual({ bundles: [expect.objectContaining({ name: X64, platform: 'linux-x64', bytes: 16, url: `/bundles/${X64}` })] });
    const bundle = await call(port, authority.certPem, { path: `/bundles/${X64}` });
    expect(bundle.status).toBe(200);
    expect(bundle.text).toBe('x64 bundle bytes');
    expect(events.filter((e) => e.type === 'served').map((e) => (e as { path: string }).path)).toEqual(['/install.sh', '/install.sh', '/bundles/SHA256SUMS', '/bundles/manifest.json', `/bundles/${X64}`]);
    const post = await call(port, authority.certPem, { method: 'POST', path: '/install.sh', body: 'x' });
    expect(post.status).toBe(405);
  });

  it('without a bundle dir answers 404 with how to build and configure them', async () => {
    const { port } = await start(undefined);
    for (const path of ['/install.sh', '/bundles/SHA256SUMS', `/bundles/${X64}`]) {
      const answer = await call(port, authority.certPem, { path });
      expect(answer.status).toBe(404);
      expect(answer.json.error).toBe('NOT_FOUND');
      expect(answer.json.message).toMatch(/cloudHub\.https\.bundleDir is not set\): build them with `node --import tsx tools\/package\/gateway-bundle\.ts --out <dir>`/);
    }
  });

  it('attack - traversal, encoded paths and a symlinked bundle never read a file outside what was listed', async () => {
    const { dir } = bundleDir();
    const { port, events } = await start(await loadGatewayBundles(dir));
    const attempts = [
      '/bundles/../ca.key',
      '/bundles/..%2fca.key',
      '/bundles/%2e%2e/ca.key',
      '/bundles/%2e%2e%2fca.key',
      `/bundles/${X64}/../../ca.key`,
      '/bundles/notes.txt',
      `/bundles/${ARM64}`,
      '/bundles//etc/passwd',
      '/bundles/%2fetc%2fpasswd',
      '/bundles/..\\ca.key',
      '/install.sh/../../ca.key',
    ];
    for (const path of attempts) {
      const answer = await call(port, authority.certPem, { path });
      expect(answer.status, path).toBe(404);
      expect(answer.text, path).not.toMatch(/SECRET|root:/);
    }
    expect(events.filter((e) => e.type === 'refused' && e.reason === 'NOT_FOUND')).toHaveLength(attempts.length);
    expect(events.filter((e) => e.type === 'served')).toHaveLength(0);
  });
});
