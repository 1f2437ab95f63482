// edgecore's start-up helper (src/edgecore-helper.ts, run by src/startup-helper.ts as a child process, here from
// source under tsx): the config, the join's x509 steps and MetaServer's first credential come back as the
// in-process code would return them, and its failures as the same typed errors.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ensureLocalCredential } from '@kedge/metamanager';
import {
  CaPinningError,
  caCertificateHash,
  createCertificateAuthority,
  describeCertificate,
  isIssuedBy,
  issueServerCertificate,
  keyMatchesCertificate,
  signNodeCsr,
  type CertificateAuthority,
} from '@kedge/pki';
import { CaHashMismatchError, bootstrapNodeCertificate } from '../src/certificates/index';
import { EdgeCoreConfigError, StartupHelperError, runStartupHelper, runStartupHelperSync, x509InHelper } from '../src/startup-helper';
import { startCloudCertificateServer, type CloudCertificateServer } from './certificates/cloud-certificate-server';
import { startImpersonator } from './certificates/fake-servers';

let dir: string;
let authority: CertificateAuthority;
let cloud: CloudCertificateServer;
let cloudDir: string;

beforeAll(async () => {
  cloudDir = mkdtempSync(join(tmpdir(), 'kedge-helper-cloud-'));
  [authority, cloud] = await Promise.all([createCertificateAuthority(), startCloudCertificateServer(cloudDir)]);
});
afterAll(async () => {
  await cloud.stop();
  rmSync(cloudDir, { recursive: true, force: true });
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kedge-helper-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('start-up helper - config', () => {
  test('a valid file comes back validated, with the defaults and the --log-level override', () => {
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, 'nodeName: gw-1\nedgeHub:\n  server: 127.0.0.1:10000\n  httpServer: https://127.0.0.1:10002\n');
    const config = runStartupHelperSync('load-config', { file });
    expect(config.nodeName).toBe('gw-1');
    expect(config.log.level).toBe('info');
    expect(config.edged.containerRuntimeEndpoint).toMatch(/containerd\.sock$/);
    expect(runStartupHelperSync('load-config', { file, logLevel: 'debug' }).log.level).toBe('debug');
  });

  test('an invalid file or a missing one is an EdgeCoreConfigError naming the file and the field', () => {
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, 'nodeName: gw-1\nedgeHub:\n  server: 10000\nsurprise: true\n');
    const error = (() => {
      try {
        runStartupHelperSync('load-config', { file });
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(EdgeCoreConfigError);
    expect(error?.message).toContain(file);
    expect(error?.message).toContain('field "edgeHub.server"');
    expect(error?.message).toContain('"surprise"');
    expect(() => runStartupHelperSync('load-config', { file: join(dir, 'missing.yaml') })).toThrow(/missing\.yaml[\s\S]*file not found/);
    expect(() => runStartupHelperSync('load-config', { file, logLevel: 'loud' })).toThrow(EdgeCoreConfigError);
  });

  test('the default config prints as YAML', () => {
    expect(runStartupHelperSync('default-config', {})).toMatch(/^nodeName: gateway-01\n/);
  });

  test('an unknown task is a StartupHelperError, not a hang', async () => {
    await expect(runStartupHelper('no-such-task' as 'default-config', {})).rejects.toThrow(StartupHelperError);
  });
});

describe('start-up helper - x509', () => {
  test('the key and CSR it makes are signed by the cloud for the node, and the key matches the certificate', async () => {
    const { keyPem, csrPem } = await x509InHelper.createNodeKeyAndCsr('gw-1');
    const certPem = await signNodeCsr(authority, csrPem, { nodeName: 'gw-1' });
    expect(describeCertificate(certPem).commonName).toBe('system:node:gw-1');
    expect(keyMatchesCertificate(keyPem, certPem)).toBe(true);
    // a given key is kept (a repeated join must use the same key)
    const again = await x509InHelper.createNodeKeyAndCsr('gw-1', { keyPem });
    expect(again.keyPem).toBe(keyPem);
  });

  test('attack - a served CA that is not the pinned one is refused through the helper as in-process (CaPinningError HASH_MISMATCH)', async () => {
    const other = await createCertificateAuthority();
    const pinned = await x509InHelper.pinCaCertificate(authority.certPem, caCertificateHash(authority.certPem), 'test');
    expect(pinned.caPem.trim()).toBe(authority.certPem.trim());
    const error = await x509InHelper.pinCaCertificate(other.certPem, caCertificateHash(authority.certPem), 'test').then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(CaPinningError);
    expect(error).toMatchObject({ code: 'HASH_MISMATCH', actualHash: caCertificateHash(other.certPem) });
  });

  test('a join through the helper gets the node certificate; an impostor CA is refused before the token is sent', async () => {
    const identity = await bootstrapNodeCertificate({ serverUrl: cloud.url, token: await cloud.token('edge-h'), nodeName: 'edge-h', dir, x509: x509InHelper });
    expect(isIssuedBy(identity.certPem, cloud.authority.certPem)).toBe(true);
    expect(readFileSync(join(dir, 'node.key'), 'utf8')).toBe(identity.keyPem);

    const impostorCa = await createCertificateAuthority();
    const impostor = await startImpersonator(await issueServerCertificate(impostorCa, { commonName: 'impostor', ipAddresses: ['127.0.0.1'] }), impostorCa.certPem);
    const other = mkdtempSync(join(tmpdir(), 'kedge-helper-'));
    try {
      const error = await bootstrapNodeCertificate({ serverUrl: impostor.url, token: await cloud.token('edge-i'), nodeName: 'edge-i', dir: other, x509: x509InHelper }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(CaHashMismatchError);
      expect(impostor.seen).toEqual([{ method: 'GET', url: '/ca.crt', authorization: undefined }]);
    } finally {
      await impostor.close();
      rmSync(other, { recursive: true, force: true });
    }
  });

  test("MetaServer's first credential made by the helper is what the daemon then reads itself (0600 key, same CA and token)", async () => {
    const request = { dir: join(dir, 'metaserver'), listenHost: '127.0.0.1', allowedHosts: ['gw.local'] };
    const made = await runStartupHelper('metaserver-credential', request);
    expect(describeCertificate(made.tls.cert).dnsNames).toContain('gw.local');
    expect(statSync(join(request.dir, 'server.key')).mode & 0o777).toBe(0o600);
    const read = await ensureLocalCredential(request);
    expect(read.caPem).toBe(made.caPem);
    expect(read.tls.cert).toBe(made.tls.cert);
    expect(read.token).toBe(made.token);
  });
});
