// Service account tokens: `kubectl create token` (TokenRequest) mints a JWT signed by the server's own
// key; the authenticator takes it while it is unexpired, for this server's audience, and its service
// account (and bound object) still exist. Forged, expired and malformed tokens get a 401 that says
// why, are counted, and never hurt the server.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Registry } from 'prom-client';
import { createMetricsRegistry } from '@kedge/telemetry';
import { ServiceAccountTokens } from '../src/auth';
import { SERVICE_ACCOUNT_KEY_FILE } from '../src/index';
import { isFailureStatus, runKubectl, startTestServer, writeTokenKubeconfig, type TestServer } from './harness';

let test: TestServer;
let registry: Registry;
let clock = new Date();

function claimsOf(token: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

async function mint(namespace: string, name: string, spec: object = {}): Promise<string> {
  const response = await test.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
  });
  expect(response.status, response.text).toBe(201);
  return response.json.status.token as string;
}

/** The 401 message a token gets on a request, or 'ok' when it is accepted. */
async function verdict(token: string): Promise<string> {
  const response = await test.request('GET', '/api', { token });
  if (response.status === 200) return 'ok';
  expect(isFailureStatus(response.json, 401), response.text).toBe(true);
  return response.json.message as string;
}

async function rejected401(): Promise<number> {
  const metric = await registry.getSingleMetric('apiserver_rejected_requests_total')?.get();
  return metric?.values.find((value) => value.labels['reason'] === '401')?.value ?? 0;
}

beforeAll(async () => {
  registry = createMetricsRegistry({ defaultMetrics: false });
  test = await startTestServer({ metricsRegistry: registry, now: () => clock });
  await test.kubectl(['create', 'namespace', 'kedge']);
  await test.kubectl(['create', 'serviceaccount', 'cloudcore', '-n', 'kedge']);
});

afterAll(async () => {
  await test.close();
});

describe('service account tokens - minting', () => {
  it('kubectl create token returns a JWT with kube-apiserver claims that kubectl can then use', async () => {
    const result = await test.kubectl(['create', 'token', 'cloudcore', '-n', 'kedge', '--duration=1h']);
    expect(result.code, result.stderr).toBe(0);
    const token = result.stdout.trim();
    const account = await test.request('GET', '/api/v1/namespaces/kedge/serviceaccounts/cloudcore');
    const claims = claimsOf(token);
    expect(claims).toMatchObject({
      iss: 'https://kubernetes.default.svc',
      sub: 'system:serviceaccount:kedge:cloudcore',
      aud: ['https://kubernetes.default.svc'],
      'kubernetes.io': { namespace: 'kedge', serviceaccount: { name: 'cloudcore', uid: account.json.metadata.uid } },
    });
    expect(claims['exp'] - claims['iat']).toBe(3600);
    expect(claims['nbf']).toBe(claims['iat']);
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'))).toMatchObject({ alg: 'ES256' });

    const kubeconfig = await writeTokenKubeconfig(test, token, join(test.dataDir, 'cloudcore.kubeconfig'));
    const whoami = await runKubectl(kubeconfig, join(test.dataDir, 'cache-cloudcore'), ['auth', 'whoami', '-o', 'json']);
    expect(JSON.parse(whoami.stdout).status.userInfo, whoami.stderr).toEqual({
      username: 'system:serviceaccount:kedge:cloudcore',
      uid: account.json.metadata.uid,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:kedge', 'system:authenticated'],
    });
  });

  it('answers a TokenRequest with the requested audiences and lifetime, and refuses bad ones', async () => {
    const response = await test.request('POST', '/api/v1/namespaces/kedge/serviceaccounts/cloudcore/token', {
      body: { spec: { audiences: ['https://kubernetes.default.svc', 'vault'], expirationSeconds: 7200 } },
    });
    expect(response.status).toBe(201);
    expect(response.json).toMatchObject({ kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', spec: { expirationSeconds: 7200 } });
    expect(Date.parse(response.json.status.expirationTimestamp) - clock.getTime()).toBeGreaterThan(7190_000);
    expect(claimsOf(response.json.status.token)['aud']).toEqual(['https://kubernetes.default.svc', 'vault']);

    const short = await test.request('POST', '/api/v1/namespaces/kedge/serviceaccounts/cloudcore/token', { body: { spec: { expirationSeconds: 60 } } });
    expect(short.status).toBe(422);
    expect(short.json.details.causes).toContainEqual(expect.objectContaining({ field: 'spec.expirationSeconds', message: expect.stringContaining('less than 10 minutes') }));
    const missing = await test.request('POST', '/api/v1/namespaces/kedge/serviceaccounts/nobody/token', { body: {} });
    expect(missing.status).toBe(404);
    expect(missing.json.message).toBe('serviceaccounts "nobody" not found');
    expect((await test.request('GET', '/api/v1/namespaces/kedge/serviceaccounts/cloudcore/token')).status).toBe(405);
  });

  it('creates the signing key once and keeps it, so tokens survive a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kedge-sa-key-'));
    try {
      const first = await startTestServer({ dataDir });
      await first.kubectl(['create', 'serviceaccount', 'keeper']);
      const token = first.server.createServiceAccountToken('default', 'keeper');
      expect((await first.request('GET', '/api', { token })).status).toBe(200);
      expect((await stat(join(dataDir, SERVICE_ACCOUNT_KEY_FILE))).mode & 0o777).toBe(0o600);
      await first.close();
      const second = await startTestServer({ dataDir });
      try {
        expect((await second.request('GET', '/api', { token })).status).toBe(200);
        expect(() => second.server.createServiceAccountToken('default', 'nobody')).toThrow('serviceaccounts "nobody" not found');
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('service account tokens - refusals', () => {
  it('ends old tokens when the service account is deleted, and when it is recreated', async () => {
    await test.kubectl(['create', 'serviceaccount', 'short-lived', '-n', 'kedge']);
    const old = await mint('kedge', 'short-lived');
    expect(await verdict(old)).toBe('ok');
    await test.kubectl(['delete', 'serviceaccount', 'short-lived', '-n', 'kedge']);
    expect(await verdict(old)).toBe('invalid bearer token: the service account kedge/short-lived no longer exists');
    await test.kubectl(['create', 'serviceaccount', 'short-lived', '-n', 'kedge']);
    expect(await verdict(old)).toBe('invalid bearer token: the service account kedge/short-lived was recreated since the token was issued');
    expect(await verdict(await mint('kedge', 'short-lived'))).toBe('ok');
  });

  it('ends a token bound to a pod when the pod goes', async () => {
    const pod = await test.request('POST', '/api/v1/namespaces/kedge/pods', { body: { metadata: { name: 'holder' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    const bound = await mint('kedge', 'cloudcore', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'holder', uid: pod.json.metadata.uid } });
    expect(claimsOf(bound)['kubernetes.io'].pod).toEqual({ name: 'holder', uid: pod.json.metadata.uid });
    expect(await verdict(bound)).toBe('ok');
    await test.request('DELETE', '/api/v1/namespaces/kedge/pods/holder');
    expect(await verdict(bound)).toBe('invalid bearer token: the Pod holder the token is bound to no longer exists');
  });

  it('refuses expired tokens and tokens for another audience', async () => {
    const result = await test.kubectl(['create', 'token', 'cloudcore', '-n', 'kedge', '--duration=10m']);
    const token = result.stdout.trim();
    expect(await verdict(token)).toBe('ok');
    const issuedAt = clock;
    try {
      clock = new Date(issuedAt.getTime() + 11 * 60_000);
      expect(await verdict(token)).toMatch(/^invalid bearer token: the token expired at \d{4}-/);
      const kubeconfig = await writeTokenKubeconfig(test, token, join(test.dataDir, 'expired.kubeconfig'));
      const kubectl = await runKubectl(kubeconfig, join(test.dataDir, 'cache-expired'), ['get', 'pods']);
      expect(kubectl.code).not.toBe(0);
      expect(kubectl.stderr).toContain('You must be logged in to the server');
    } finally {
      clock = issuedAt;
    }
    const vault = await mint('kedge', 'cloudcore', { audiences: ['vault'] });
    expect(await verdict(vault)).toContain('include none this server accepts');
  });

  it('refuses forged tokens: a changed payload, another key, alg none', async () => {
    const genuine = await mint('kedge', 'cloudcore');
    const [header = '', , signature = ''] = genuine.split('.');
    const claims = claimsOf(genuine);
    const elevated = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:default' })).toString('base64url');
    expect(await verdict(`${header}.${elevated}.${signature}`)).toBe('invalid bearer token: the token signature is invalid');

    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const impostor = new ServiceAccountTokens({
      signingKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      issuer: 'https://kubernetes.default.svc',
      audiences: ['https://kubernetes.default.svc'],
    });
    const identity = { namespace: 'kedge', name: 'cloudcore', uid: claims['kubernetes.io'].serviceaccount.uid };
    const foreign = impostor.issue(identity, { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600, now: clock }).token;
    expect(await verdict(foreign)).toBe('invalid bearer token: the token was signed by a key this server does not know');

    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.AA`;
    expect(await verdict(none)).toBe('invalid bearer token: the token is signed with "none", this server only accepts ES256');
  });

  it('answers random and malformed tokens with 401, counts them, and keeps serving', async () => {
    const before = await rejected401();
    const samples = ['a.b.c', 'eyJ.eyJ.sig', `${'A'.repeat(12_000)}.b.c`, '...', 'not-a-jwt', `${Buffer.from('[]').toString('base64url')}.e30.AA`];
    for (const token of samples) expect(await verdict(token), token.slice(0, 40)).not.toBe('ok');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.base64String(), { minLength: 3, maxLength: 3 }), async (parts) => {
        const token = parts.map((part) => part.replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '') || 'x').join('.');
        const response = await test.request('GET', '/api/v1/namespaces', { token });
        expect(response.status).toBe(401);
      }),
      { numRuns: 40 },
    );
    expect(await rejected401()).toBeGreaterThanOrEqual(before + samples.length + 40);
    expect((await test.request('GET', '/api/v1/namespaces')).status).toBe(200);
  });
});
