// SecretCertificateStore against a real Kubernetes API: the embedded API server, started in-process
// on a temporary SQLite file and a free loopback port, stands in for the cluster.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
// the embedded API server is "the cluster"
import { startApiServer, type ApiServer } from '@kedge/apiserver';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CertificateStoreError,
  JoinTokenError,
  SERVER_CERT_FILE,
  SERVER_KEY_FILE,
  JOIN_TOKENS_FILE,
  JoinTokenLedger,
  createJoinToken,
  loadOrCreateAuthority,
  parseJoinToken,
  loadOrCreateServerCertificate,
} from '@kedge/pki';
import { freePort } from '@kedge/testkit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_SECRET_NAME, PART_OF_LABEL, SecretCertificateStore, defaultSecretNamespace } from '../src/index';

const NAMESPACE = 'kedge';
const NOBODY_TOKEN = 'token-of-a-user-without-any-rights';

let apiServer: ApiServer;
let dataDir: string;
let admin: KubeConfig;
let core: CoreV1Api;
let secretCounter = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kedge-pki-secret-'));
  apiServer = await startApiServer({
    dataDir,
    port: 0,
    tokens: [{ token: NOBODY_TOKEN, user: 'nobody' }],
    compactIntervalMs: 60_000,
  });
  admin = new KubeConfig();
  admin.loadFromFile(apiServer.adminKubeconfigPath);
  core = admin.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
});

afterAll(async () => {
  await apiServer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** every test its own Secret, so tests do not see each other's entries */
function freshSecretName(): string {
  secretCounter += 1;
  return `cloudcore-pki-${secretCounter}`;
}

function storeFor(name: string, kubeConfig: KubeConfig = admin, namespace = NAMESPACE): SecretCertificateStore {
  return new SecretCertificateStore({ kubeConfig, namespace, name });
}

/** the admin kubeconfig's cluster, with another bearer token */
function kubeConfigWithToken(token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no cluster');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'nobody', token }],
    contexts: [{ name: 'nobody', cluster: cluster.name, user: 'nobody' }],
    currentContext: 'nobody',
  });
  return kubeConfig;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('SecretCertificateStore', () => {
  test('secret store - a missing Secret reads as no entries; written entries read back and the Secret is labelled Opaque', async () => {
    const name = freshSecretName();
    const store = storeFor(name);
    expect(store.location).toBe(`secret ${NAMESPACE}/${name}`);
    expect(await store.read(CA_CERT_FILE)).toBeUndefined();
    expect(await store.read(JOIN_TOKENS_FILE)).toBeUndefined();

    await store.write([
      { name: 'ca.crt', content: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n' },
      { name: 'ca.key', content: 'key ünïcode', secret: true },
    ]);
    expect(await store.read('ca.crt')).toBe('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    expect(await storeFor(name).read('ca.key')).toBe('key ünïcode');
    expect(await store.read('server.crt')).toBeUndefined();

    await store.write([{ name: 'ca.key', content: 'replaced' }]);
    expect(await store.read('ca.key')).toBe('replaced');
    expect(await store.read('ca.crt')).toContain('BEGIN CERTIFICATE'); // a merge, not a replacement of the Secret

    const secret = await core.readNamespacedSecret({ name, namespace: NAMESPACE });
    expect(secret.type).toBe('Opaque');
    expect(secret.metadata?.labels?.[PART_OF_LABEL]).toBe('kedge');
    expect(Buffer.from(secret.data?.['ca.key'] ?? '', 'base64').toString('utf8')).toBe('replaced');
  });

  test('secret store - a group write is atomic: a reader of the Secret never sees entries from two different writes', async () => {
    const name = freshSecretName();
    const store = storeFor(name);
    const rounds = 25;
    let writing = true;
    const writer = (async () => {
      for (let round = 1; round <= rounds; round++) {
        await store.write([
          { name: 'server.crt', content: `certificate ${round}` },
          { name: 'server.key', content: `key ${round}` },
        ]);
      }
      writing = false;
    })();
    let observed = 0;
    while (writing) {
      const secret = await core.readNamespacedSecret({ name, namespace: NAMESPACE }).catch(() => undefined);
      const data = secret?.data;
      if (data?.['server.crt'] !== undefined) {
        const cert = Buffer.from(data['server.crt'], 'base64').toString();
        const key = Buffer.from(data['server.key'] ?? '', 'base64').toString();
        expect(cert.replace('certificate ', '')).toBe(key.replace('key ', ''));
        observed += 1;
      }
    }
    await writer;
    expect(observed).toBeGreaterThan(0);
    expect(await store.read('server.crt')).toBe(`certificate ${rounds}`);
    expect(await store.read('server.key')).toBe(`key ${rounds}`);
  });

  test('secret store - two store instances racing writes of different keys: every key survives', async () => {
    const name = freshSecretName();
    const [first, second] = [storeFor(name), storeFor(name)];
    const keysPerStore = 15;
    await Promise.all([
      ...Array.from({ length: keysPerStore }, (_, i) => first.write([{ name: `first-${i}.txt`, content: `first ${i}` }])),
      ...Array.from({ length: keysPerStore }, (_, i) => second.write([{ name: `second-${i}.txt`, content: `second ${i}` }])),
    ]);
    const secret = await core.readNamespacedSecret({ name, namespace: NAMESPACE });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(
      [...Array.from({ length: keysPerStore }, (_, i) => `first-${i}.txt`), ...Array.from({ length: keysPerStore }, (_, i) => `second-${i}.txt`)].sort(),
    );
    for (let i = 0; i < keysPerStore; i++) {
      expect(await first.read(`second-${i}.txt`)).toBe(`second ${i}`);
      expect(await second.read(`first-${i}.txt`)).toBe(`first ${i}`);
    }
  });

  test('secret store - 50 concurrent claims of one token through two ledgers on two stores: exactly one node wins', async () => {
    const name = freshSecretName();
    const ca = await loadOrCreateAuthority(storeFor(name));
    const ledgers = [new JoinTokenLedger(storeFor(name)), new JoinTokenLedger(storeFor(name))];
    const keyOf = (node: string): string => createHash('sha256').update(node).digest('hex');
    // an earlier claim of another token must survive the race as well
    const earlier = parseJoinToken((await createJoinToken(ca, ledgers[0]!, { ttlSeconds: 600, nodeName: 'edge-earlier' })).token).claims;
    await ledgers[0]!.claim(earlier, 'edge-earlier', { publicKeySha256: keyOf('edge-earlier'), nodeExists: false });
    // a batch token for one name, contested by 50 names that all match it
    const contested = parseJoinToken((await createJoinToken(ca, ledgers[1]!, { ttlSeconds: 600, nodePattern: 'edge-*', count: 1 })).token).claims;
    const nodes = Array.from({ length: 50 }, (_, i) => `edge-${i}`);
    const results = await Promise.allSettled(
      nodes.map((node, i) => ledgers[i % 2]!.claim(contested, node, { publicKeySha256: keyOf(node), nodeExists: false })),
    );

    const winners = nodes.filter((_, i) => results[i]!.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') {
        expect(result.reason).toBeInstanceOf(JoinTokenError);
        expect(result.reason).toMatchObject({ code: 'TOKEN_ALREADY_USED' });
        expect((result.reason as Error).message).toContain(winners[0]);
      }
    }
    for (const ledger of ledgers) {
      expect((await ledger.recordOf(contested.jti))?.uses.map((use) => use.nodeName)).toEqual(winners);
      expect((await ledger.recordOf(earlier.jti))?.uses.map((use) => use.nodeName)).toEqual(['edge-earlier']);
    }
    // a process started later (a fresh ledger on a fresh store) refuses the token too, and lets the winner retry with its key
    const restarted = new JoinTokenLedger(storeFor(name));
    await expect(restarted.claim(contested, 'edge-latecomer', { publicKeySha256: keyOf('edge-latecomer'), nodeExists: false })).rejects.toMatchObject({
      code: 'TOKEN_ALREADY_USED',
    });
    expect(await restarted.claim(contested, winners[0]!, { publicKeySha256: keyOf(winners[0]!), nodeExists: true })).toBe('retry');
    // a deleted token is gone for every process
    expect(await restarted.delete(earlier.jti)).toBe(true);
    await expect(ledgers[0]!.claim(earlier, 'edge-earlier', { publicKeySha256: keyOf('edge-earlier'), nodeExists: true })).rejects.toMatchObject({
      code: 'UNKNOWN_TOKEN',
    });
  });

  test('secret store - two processes creating the CA at once end up with one CA, and the server certificate goes beside it', async () => {
    const name = freshSecretName();
    const [first, second] = await Promise.all([loadOrCreateAuthority(storeFor(name)), loadOrCreateAuthority(storeFor(name))]);
    expect(second.certPem).toBe(first.certPem);
    expect(second.keyPem).toBe(first.keyPem);

    const store = storeFor(name);
    const serverCert = await loadOrCreateServerCertificate(store, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    expect(await store.read(SERVER_CERT_FILE)).toBe(serverCert.certPem);
    expect(await store.read(SERVER_KEY_FILE)).toBe(serverCert.keyPem);
    expect(await store.read(CA_KEY_FILE)).toBe(first.keyPem);
    // a restart (new store object) reuses both
    const again = await loadOrCreateServerCertificate(storeFor(name), { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    expect(again.certPem).toBe(serverCert.certPem);
  });

  test('secret store - a user without rights gets ACCESS_DENIED naming the verb, the secret and deploy/cloudcore', async () => {
    const name = freshSecretName();
    const store = storeFor(name, kubeConfigWithToken(NOBODY_TOKEN));
    const error = await caught(store.read(CA_CERT_FILE));
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED' });
    const message = (error as Error).message;
    expect(message).toContain(`refused to get secret ${NAMESPACE}/${name}`);
    expect(message).toContain('"get" verb on secrets in namespace "kedge"');
    expect(message).toContain('deploy/cloudcore');

    const writeError = await caught(store.write([{ name: 'ca.crt', content: 'x' }]));
    expect(writeError).toMatchObject({ code: 'ACCESS_DENIED' });
    // nothing was written
    await expect(core.readNamespacedSecret({ name, namespace: NAMESPACE })).rejects.toMatchObject({ code: 404 });
  });

  test('secret store - unknown credentials are ACCESS_DENIED with a 401 hint', async () => {
    const error = await caught(storeFor(freshSecretName(), kubeConfigWithToken('not-a-token-anyone-knows')).read(CA_CERT_FILE));
    expect(error).toMatchObject({ code: 'ACCESS_DENIED' });
    expect((error as Error).message).toMatch(/did not accept the credentials \(401\)/);
  });

  test('secret store - a missing namespace reads as empty, and a write says to create the namespace', async () => {
    const store = storeFor('cloudcore-pki', admin, 'no-such-namespace');
    expect(await store.read(CA_CERT_FILE)).toBeUndefined();
    const error = await caught(store.write([{ name: 'ca.crt', content: 'x' }]));
    expect(error).toMatchObject({ code: 'REJECTED' });
    expect((error as Error).message).toContain('namespace "no-such-namespace" does not exist');
    expect((error as Error).message).toContain('kubectl create namespace no-such-namespace');
  });

  test('secret store - an unreachable API server is named in the error', async () => {
    const port = await freePort(); // free now, and nobody listens on it
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'gone', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'gone', token: 'x' }],
      contexts: [{ name: 'gone', cluster: 'gone', user: 'gone' }],
      currentContext: 'gone',
    });
    const error = await caught(storeFor('cloudcore-pki', kubeConfig).read(CA_CERT_FILE));
    expect(error).toBeInstanceOf(CertificateStoreError);
    expect(error).toMatchObject({ code: 'UNREACHABLE' });
    expect((error as Error).message).toContain(`cannot reach the Kubernetes API server https://127.0.0.1:${port}`);
  });

  test('secret store - an entry name that cannot be a data key is refused before any request', async () => {
    const store = storeFor(freshSecretName());
    await expect(store.read('pki/ca.crt')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(store.write([{ name: 'a b', content: 'x' }])).rejects.toMatchObject({ code: 'INVALID_NAME' });
  });
});

describe('default secret location', () => {
  test('secret location - the pod namespace from the service account file, else kedge', async () => {
    const file = join(dataDir, 'namespace');
    await writeFile(file, 'edge-system\n');
    expect(defaultSecretNamespace(file)).toBe('edge-system');
    expect(defaultSecretNamespace(join(dataDir, 'no-such-file'))).toBe('kedge');
    expect(DEFAULT_SECRET_NAME).toBe('cloudcore-pki');
  });
});
