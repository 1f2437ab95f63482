import { readFile, readdir, rm, stat, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  createCertificateAuthority,
  describeCertificate,
  isIssuedBy,
  issueJoinToken,
  issueServerCertificate,
  type CertificateAuthority,
} from '@kedge/pki';
import {
  CaHashMismatchError,
  CertificateServerError,
  NodeIdentityError,
  bootstrapNodeCertificate,
} from '../../src/certificates/index';
import { startCloudCertificateServer, type CloudCertificateServer } from './cloud-certificate-server';
import { startImpersonator, startSilentServer } from './fake-servers';

let cloud: CloudCertificateServer;
let cloudDir: string;
let otherAuthority: CertificateAuthority;
let dir: string;

beforeAll(async () => {
  cloudDir = await mkdtemp(join(tmpdir(), 'kedge-cloud-'));
  [cloud, otherAuthority] = await Promise.all([startCloudCertificateServer(cloudDir), createCertificateAuthority()]);
});
afterAll(async () => {
  await cloud.stop();
  await rm(cloudDir, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-edge-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

/** A port nothing listens on: contacting it fails at once. */
async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `https://127.0.0.1:${port}`;
}

describe('bootstrap with the real certificate server', () => {
  test('bootstrap - a valid token gets a node certificate, stored with the CA and a 0600 key', async () => {
    const token = await cloud.token('edge-1');
    const identity = await bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-1', dir });
    expect(identity.caPem).toBe(cloud.authority.certPem);
    expect(describeCertificate(identity.certPem).commonName).toBe('system:node:edge-1');
    expect(isIssuedBy(identity.certPem, cloud.authority.certPem)).toBe(true);
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(identity.caPem);
    expect(await readFile(join(dir, 'node.crt'), 'utf8')).toBe(identity.certPem);
    expect(await readFile(join(dir, 'node.key'), 'utf8')).toBe(identity.keyPem);
    expect((await stat(join(dir, 'node.key'))).mode & 0o777).toBe(0o600);
    expect(cloud.events.at(-1)).toMatchObject({ type: 'issued', nodeName: 'edge-1', via: 'token' });
  });

  test('bootstrap - a restart with valid files needs neither the token nor the cloud', async () => {
    const first = await bootstrapNodeCertificate({
      serverUrl: cloud.url,
      token: await cloud.token('edge-1'),
      nodeName: 'edge-1',
      dir,
    });
    const again = await bootstrapNodeCertificate({ serverUrl: await closedPortUrl(), token: '', nodeName: 'edge-1', dir });
    expect(again).toEqual(first);
  });

  test('bootstrap - a token pinning another CA than the stored one means a new join, not the old identity', async () => {
    await bootstrapNodeCertificate({ serverUrl: cloud.url, token: await cloud.token('edge-1'), nodeName: 'edge-1', dir });
    const moving = issueJoinToken(otherAuthority, { ttlSeconds: 600, nodeName: 'edge-1' });
    await expect(bootstrapNodeCertificate({ serverUrl: cloud.url, token: moving, nodeName: 'edge-1', dir })).rejects.toBeInstanceOf(
      CaHashMismatchError,
    );
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(cloud.authority.certPem);
  });

  test('bootstrap - a server certificate without the dialled name is not trusted, and the message says how to fix it', async () => {
    const hostname = await startImpersonator(
      await issueServerCertificate(cloud.authority, { commonName: 'cloudcore', dnsNames: ['cloudcore.example'] }),
      cloud.authority.certPem,
    );
    try {
      const token = await cloud.token('edge-1');
      const error = await failureOf(bootstrapNodeCertificate({ serverUrl: hostname.url, token, nodeName: 'edge-1', dir }));
      expect(error).toMatchObject({ code: 'SERVER_NOT_TRUSTED' });
      expect(error.message).toContain('not for the name "127.0.0.1"');
      expect(hostname.seen.map((request) => request.url)).toEqual(['/ca.crt']);
    } finally {
      await hostname.close();
    }
  });

  test('bootstrap - expired and forged tokens are refused with a 401 that says why, and nothing is stored', async () => {
    const expired = issueJoinToken(cloud.authority, { ttlSeconds: 60, nodeName: 'edge-1', now: new Date(Date.now() - 3_600_000) });
    const expiredError = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, token: expired, nodeName: 'edge-1', dir }));
    expect(expiredError).toBeInstanceOf(CertificateServerError);
    expect(expiredError).toMatchObject({ code: 'REFUSED', status: 401, serverCode: 'EXPIRED' });
    expect(expiredError.message).toMatch(/join token .* expired at .*kedgeadm token create/);

    const [hash, claims, mac] = (await cloud.token('edge-1', 60)).split('.');
    const longer = { ...(JSON.parse(Buffer.from(claims ?? '', 'base64url').toString()) as object), exp: 9_999_999_999 };
    const forged = `${hash}.${Buffer.from(JSON.stringify(longer)).toString('base64url')}.${mac}`;
    const forgedError = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, token: forged, nodeName: 'edge-1', dir }));
    expect(forgedError).toMatchObject({ code: 'REFUSED', status: 401, serverCode: 'BAD_SIGNATURE' });
    expect(await readdir(dir)).toEqual([]);
  });

  test('bootstrap - a token of another cluster is refused by the edge itself before anything is sent', async () => {
    const before = cloud.events.length;
    const token = issueJoinToken(otherAuthority, { ttlSeconds: 600, nodeName: 'edge-1' });
    const error = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-1', dir }));
    expect(error).toBeInstanceOf(CaHashMismatchError);
    expect(error.message).toContain('refusing to join');
    // had the token been sent, the server would have reported a WRONG_CA refusal
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cloud.events.slice(before)).toEqual([]);
  });

  test('bootstrap - a one-name batch token used by node A is refused for node B with 403 TOKEN_ALREADY_USED', async () => {
    const token = await cloud.token({ nodePattern: 'edge-*', count: 1 });
    await bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-a', dir });
    const otherDir = await mkdtemp(join(tmpdir(), 'kedge-edge-b-'));
    try {
      const error = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-b', dir: otherDir }));
      expect(error).toMatchObject({ name: 'CertificateServerError', status: 403, serverCode: 'TOKEN_ALREADY_USED' });
      expect(error.message).toContain('edge-a');
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  test('bootstrap - without a token and without files, or with files of another node, it says what to do', async () => {
    const none = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, nodeName: 'edge-1', dir }));
    expect(none).toBeInstanceOf(NodeIdentityError);
    expect(none).toMatchObject({ code: 'NOT_BOOTSTRAPPED' });
    expect(none.message).toContain('kedgeadm token');

    const token = await cloud.token('edge-1');
    await bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-1', dir });
    const other = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-2', dir }));
    expect(other).toMatchObject({ code: 'NODE_NAME_MISMATCH' });
  });
});

describe('bootstrap against impostors', () => {
  test('bootstrap - a server whose CA does not match the token hash gets only the CA request, never the token', async () => {
    const impostorCa = await createCertificateAuthority();
    const impostor = await startImpersonator(
      await issueServerCertificate(impostorCa, { commonName: 'impostor', ipAddresses: ['127.0.0.1'] }),
      impostorCa.certPem,
    );
    try {
      const token = await cloud.token('edge-1');
      const error = await failureOf(bootstrapNodeCertificate({ serverUrl: impostor.url, token, nodeName: 'edge-1', dir }));
      expect(error).toBeInstanceOf(CaHashMismatchError);
      expect(error).toMatchObject({ code: 'CA_HASH_MISMATCH' });
      expect(impostor.seen).toEqual([{ method: 'GET', url: '/ca.crt', authorization: undefined }]);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await impostor.close();
    }
  });

  test('bootstrap - a server relaying the right CA but holding another TLS certificate never receives the token', async () => {
    const impostorCa = await createCertificateAuthority();
    const impostor = await startImpersonator(
      await issueServerCertificate(impostorCa, { commonName: 'impostor', ipAddresses: ['127.0.0.1'] }),
      cloud.authority.certPem,
    );
    try {
      const token = await cloud.token('edge-1');
      const error = await failureOf(bootstrapNodeCertificate({ serverUrl: impostor.url, token, nodeName: 'edge-1', dir }));
      expect(error).toMatchObject({ name: 'CertificateServerError', code: 'SERVER_NOT_TRUSTED' });
      expect(impostor.seen.map((request) => request.authorization)).toEqual([undefined]);
    } finally {
      await impostor.close();
    }
  });

  test('bootstrap - a server that never answers fails with TIMEOUT within the given time', async () => {
    const silent = await startSilentServer(await issueServerCertificate(otherAuthority, { commonName: 's', ipAddresses: ['127.0.0.1'] }));
    try {
      const token = await cloud.token('edge-1');
      const started = Date.now();
      const error = await failureOf(bootstrapNodeCertificate({ serverUrl: silent.url, token, nodeName: 'edge-1', dir, timeoutMs: 300 }));
      expect(error).toMatchObject({ code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await silent.close();
    }
  });

  test('bootstrap - unreachable and non-https server URLs fail with typed errors', async () => {
    const token = await cloud.token('edge-1');
    const unreachable = await failureOf(bootstrapNodeCertificate({ serverUrl: await closedPortUrl(), token, nodeName: 'edge-1', dir }));
    expect(unreachable).toMatchObject({ code: 'UNREACHABLE' });
    expect(unreachable.message).toContain('ECONNREFUSED');
    const plain = await failureOf(bootstrapNodeCertificate({ serverUrl: 'http://127.0.0.1:10002', token, nodeName: 'edge-1', dir }));
    expect(plain).toMatchObject({ code: 'INVALID_SERVER_URL' });
  });
});

describe('bootstrap - an interrupted join', () => {
  test('bootstrap - a join whose answer was lost is repeated with the same key, and the cloud accepts it as a retry', async () => {
    const token = await cloud.token('edge-retry');
    // the first attempt got its certificate issued, but the edge never stored it (the answer was lost)
    const lost = await bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-retry', dir });
    await rm(join(dir, 'node.crt'));
    await writeFile(join(dir, 'join-pending.key'), lost.keyPem, { mode: 0o600 });
    const again = await bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-retry', dir });
    expect(again.keyPem).toBe(lost.keyPem);
    expect(cloud.events.filter((event) => event.type === 'issued' && event.nodeName === 'edge-retry')).toHaveLength(2);
    expect((await readdir(dir)).sort()).toEqual(['ca.crt', 'node.crt', 'node.key']);
    // a fresh key (another machine with the copied token) is refused
    const elsewhere = await mkdtemp(join(tmpdir(), 'kedge-edge-thief-'));
    try {
      const error = await failureOf(bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-retry', dir: elsewhere }));
      expect(error).toMatchObject({ status: 403, serverCode: 'TOKEN_ALREADY_USED' });
      expect(await readdir(elsewhere)).toEqual([]);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });
});
