import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  CertificateStoreError,
  FileCertificateStore,
  createCertificateAuthority,
  describeCertificate,
  isIssuedBy,
  keyMatchesCertificate,
  loadOrCreateAuthority,
  loadOrCreateServerCertificate,
} from '../src/index';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('file certificate store', () => {
  test('file store - writes entries with owner-only mode for secrets and leaves no temporary files', async () => {
    const store = new FileCertificateStore(join(dir, 'nested'));
    expect(await store.read('a.crt')).toBeUndefined();
    await store.write([
      { name: 'a.crt', content: 'public' },
      { name: 'a.key', content: 'secret', secret: true },
    ]);
    await store.write([{ name: 'a.crt', content: 'public 2' }]);
    expect(await store.read('a.crt')).toBe('public 2');
    expect(await modeOf(join(dir, 'nested', 'a.key'))).toBe(0o600);
    expect(await modeOf(join(dir, 'nested', 'a.crt'))).toBe(0o644);
    expect((await readdir(join(dir, 'nested'))).sort()).toEqual(['a.crt', 'a.key']);
  });

  test('file store - refuses entry names that are paths', async () => {
    const store = new FileCertificateStore(dir);
    await expect(store.read('../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(store.write([{ name: 'sub/x', content: '' }])).rejects.toBeInstanceOf(CertificateStoreError);
  });

  test('file store - finishes a group write interrupted between its renames on the next start', async () => {
    const [oldCa, newCa] = await Promise.all([createCertificateAuthority(), createCertificateAuthority()]);
    await new FileCertificateStore(dir).write([
      { name: 'ca.crt', content: oldCa.certPem },
      { name: 'ca.key', content: oldCa.keyPem, secret: true },
    ]);
    // the state a kill -9 leaves after the journal was written and one of two renames happened
    const staged = [
      { temp: '.ca.crt.0123456789ab.tmp', name: 'ca.crt' },
      { temp: '.ca.key.ba9876543210.tmp', name: 'ca.key' },
    ];
    await writeFile(join(dir, staged[0]?.temp ?? ''), newCa.certPem);
    await writeFile(join(dir, staged[1]?.temp ?? ''), newCa.keyPem, { mode: 0o600 });
    await writeFile(join(dir, '.commit-journal.json'), JSON.stringify(staged));
    await rename(join(dir, staged[0]?.temp ?? ''), join(dir, 'ca.crt'));
    await writeFile(join(dir, '.server.crt.ffffffffffff.tmp'), 'half a write that never committed');

    const reloaded = await loadOrCreateAuthority(new FileCertificateStore(dir));
    expect(reloaded).toEqual(newCa);
    expect((await readdir(dir)).sort()).toEqual(['ca.crt', 'ca.key']);
  });

  test('file store - a kill -9 during writes never leaves a CA whose key and certificate disagree', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/authority-rewriter.ts', import.meta.url));
    const workspace = fileURLToPath(new URL('../../../../', import.meta.url));
    for (let round = 0; round < 8; round += 1) {
      // node itself with the tsx loader, not the tsx CLI: that one forks, and SIGKILL would miss the writer
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir], { cwd: workspace, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`rewriter exited early with ${code}`)));
        child.stdout.on('data', () => resolve());
      });
      child.removeAllListeners('exit');
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 40));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      const ca = await loadOrCreateAuthority(new FileCertificateStore(dir));
      expect(keyMatchesCertificate(ca.keyPem, ca.certPem)).toBe(true);
      expect((await readdir(dir)).filter((name) => name.startsWith('.'))).toEqual([]);
    }
  }, 120_000); // eight node + tsx start-ups: about 1.3 s each on a loaded 2-core machine
});

describe('stored authority', () => {
  test('stored authority - is created once, persisted with a 0600 key and reloaded unchanged after a restart', async () => {
    const created = await loadOrCreateAuthority(dir, { commonName: 'site-ca' });
    expect(describeCertificate(created.certPem).commonName).toBe('site-ca');
    expect(await modeOf(join(dir, 'ca.key'))).toBe(0o600);
    const reloaded = await loadOrCreateAuthority(new FileCertificateStore(dir));
    expect(reloaded).toEqual(created);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(created.certPem);
  });

  test('stored authority - refuses to replace a CA with a missing or mismatched key', async () => {
    const ca = await loadOrCreateAuthority(dir);
    const other = await createCertificateAuthority();
    await writeFile(join(dir, 'ca.key'), other.keyPem);
    await expect(loadOrCreateAuthority(dir)).rejects.toMatchObject({ code: 'AUTHORITY_KEY_MISMATCH' });
    await rm(join(dir, 'ca.key'));
    const error = await loadOrCreateAuthority(dir).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'CertificateStoreError', code: 'AUTHORITY_INCOMPLETE' });
    expect((error as Error).message).toContain('restore ca.key from backup');
    await writeFile(join(dir, 'ca.key'), 'garbage');
    await expect(loadOrCreateAuthority(dir)).rejects.toMatchObject({ code: 'CORRUPT_FILE' });
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(ca.certPem);
  });

  test('server certificate store - is reused while the names match, re-issued when they change or rotation is due', async () => {
    const names = { dnsNames: ['cloudcore.local'], ipAddresses: ['127.0.0.1', '::1'] };
    const first = await loadOrCreateServerCertificate(dir, names);
    const ca = await loadOrCreateAuthority(dir);
    expect(isIssuedBy(first.certPem, ca.certPem)).toBe(true);
    expect(await modeOf(join(dir, 'server.key'))).toBe(0o600);

    const reordered = await loadOrCreateServerCertificate(dir, { dnsNames: ['CLOUDCORE.local'], ipAddresses: ['0:0:0:0:0:0:0:1', '127.0.0.1'] });
    expect(reordered).toEqual(first);

    const renamed = await loadOrCreateServerCertificate(dir, { ...names, ipAddresses: ['127.0.0.1', '10.0.0.5'] });
    expect(renamed.certPem).not.toBe(first.certPem);
    expect(describeCertificate(renamed.certPem).ipAddresses).toEqual(['127.0.0.1', '10.0.0.5']);

    const { notBefore, notAfter } = describeCertificate(renamed.certPem);
    const late = new Date(notBefore.getTime() + 0.85 * (notAfter.getTime() - notBefore.getTime()));
    const kept = await loadOrCreateServerCertificate(dir, { ...names, ipAddresses: ['127.0.0.1', '10.0.0.5'], now: new Date() });
    expect(kept).toEqual(renamed);
    const rotated = await loadOrCreateServerCertificate(dir, { ...names, ipAddresses: ['127.0.0.1', '10.0.0.5'], now: late });
    expect(describeCertificate(rotated.certPem).serialNumber).not.toBe(describeCertificate(renamed.certPem).serialNumber);
  });
});
