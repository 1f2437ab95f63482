// Authentication (bearer tokens, client certificates from the cluster CA) and the node rules:
// a node reads and writes only its own Node, its pods, what they use, its Lease, and events.
import { writeFile } from 'node:fs/promises';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, createNodeKeyAndCsr, signNodeCsr, type CertificateAuthority } from '@kedge/pki';
import { isFailureStatus, runKubectl, startTestServer, type TestServer } from './harness';

let test: TestServer;
let ca: CertificateAuthority;
const nodeCerts = new Map<string, { certPem: string; keyPem: string }>();

async function nodeCert(authority: CertificateAuthority, name: string): Promise<{ certPem: string; keyPem: string }> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr(name);
  return { certPem: await signNodeCsr(authority, csrPem, { nodeName: name, validityDays: 1 }), keyPem };
}

function pod(name: string, nodeName: string, uses: { secret?: string; configMap?: string } = {}): object {
  return {
    metadata: { name },
    spec: {
      nodeName,
      containers: [
        {
          name: 'c',
          image: 'busybox',
          ...(uses.configMap === undefined ? {} : { envFrom: [{ configMapRef: { name: uses.configMap } }] }),
        },
      ],
      ...(uses.secret === undefined ? {} : { volumes: [{ name: 's', secret: { secretName: uses.secret } }] }),
    },
  };
}

beforeAll(async () => {
  ca = await createCertificateAuthority({ commonName: 'apiserver auth test CA', validityDays: 1 });
  test = await startTestServer({ tls: { ca }, tokens: [{ token: 'alice-token-0123456789', user: 'alice', groups: ['developers'] }] });
  nodeCerts.set('edge-a', await nodeCert(ca, 'edge-a'));
  nodeCerts.set('edge-b', await nodeCert(ca, 'edge-b'));
  const admin = (method: string, path: string, body: object) => test.request(method, path, { body });
  for (const name of ['edge-a', 'edge-b']) await admin('POST', '/api/v1/nodes', { metadata: { name } });
  await admin('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'a-secret' }, data: {} });
  await admin('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 'b-secret' }, data: {} });
  await admin('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'a-config' }, data: {} });
  await admin('POST', '/api/v1/namespaces/default/pods', pod('a-pod', 'edge-a', { secret: 'a-secret', configMap: 'a-config' }));
  await admin('POST', '/api/v1/namespaces/default/pods', pod('b-pod', 'edge-b', { secret: 'b-secret' }));
});

afterAll(async () => {
  await test.close();
});

function asNode(name: string, method: string, path: string, body?: object) {
  return test.request(method, path, { token: null, cert: nodeCerts.get(name), ...(body === undefined ? {} : { body }) });
}

describe('authentication', () => {
  it('refuses anonymous requests and unknown tokens with 401', async () => {
    const anonymous = await test.request('GET', '/api/v1/pods', { token: null });
    expect(anonymous.status).toBe(401);
    expect(isFailureStatus(anonymous.json, 401)).toBe(true);
    expect((await test.request('GET', '/api/v1/pods', { token: 'wrong-token-wrong-token' })).status).toBe(401);
  });

  it('refuses a client certificate from another CA', async () => {
    const foreign = await createCertificateAuthority({ commonName: 'someone else', validityDays: 1 });
    const response = await test.request('GET', '/api/v1/nodes/edge-a', { token: null, cert: await nodeCert(foreign, 'edge-a') });
    expect(response.status).toBe(401);
  });

  it('authorizes other authenticated users for nothing without an RBAC binding, with a 403 naming the resource', async () => {
    const response = await test.request('GET', '/api/v1/namespaces/default/configmaps/a-config', { token: 'alice-token-0123456789' });
    expect(response.status).toBe(403);
    expect(response.json.message).toContain('configmaps "a-config" is forbidden: User "alice" cannot get resource "configmaps"');
  });
});

/** requests over one keep-alive TLS connection; each result says whether it reused the connection */
async function onOneConnection(tokens: readonly (string | null)[]): Promise<Array<{ status: number; user: string | undefined; reused: boolean }>> {
  const agent = new Agent({ ca: test.server.caCertPem, keepAlive: true, maxSockets: 1 });
  const base = new URL(test.server.url);
  try {
    const results: Array<{ status: number; user: string | undefined; reused: boolean }> = [];
    for (const token of tokens) {
      results.push(
        await new Promise((resolve, reject) => {
          const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
          const request = httpsRequest(
            {
              hostname: base.hostname,
              port: base.port,
              path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
              method: 'POST',
              agent,
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
            },
            (response) => {
              const chunks: Buffer[] = [];
              response.on('data', (chunk: Buffer) => chunks.push(chunk));
              response.on('end', () => {
                const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: { userInfo?: { username?: string } } };
                resolve({ status: response.statusCode ?? 0, user: json.status?.userInfo?.username, reused: request.reusedSocket });
              });
            },
          );
          request.on('error', reject);
          request.end(body);
        }),
      );
    }
    return results;
  } finally {
    agent.destroy();
  }
}

describe('authentication on a keep-alive connection', () => {
  it('attack - a connection that proved a token is judged afresh on every other header: a wrong token, none, or another user\'s', async () => {
    const admin = test.server.adminToken;
    const results = await onOneConnection([admin, 'wrong-token-wrong-token', admin, null, `${admin}x`, 'alice-token-0123456789', admin]);
    // one connection throughout, so a per-connection memory of the first token was there to be misused
    expect(results.slice(1).every((result) => result.reused)).toBe(true);
    expect(results.map((result) => [result.status, result.user])).toEqual([
      [201, 'system:admin'],
      [401, undefined],
      [201, 'system:admin'],
      [401, undefined],
      [401, undefined],
      [201, 'alice'],
      [201, 'system:admin'],
    ]);
  });
});

describe('plain HTTP on loopback', () => {
  it('serves without TLS when asked, still requiring a token', async () => {
    const plain = await startTestServer({ tls: false });
    try {
      expect(plain.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const anonymous = await fetch(`${plain.server.url}/api/v1/namespaces`);
      expect(anonymous.status).toBe(401);
      const admin = await fetch(`${plain.server.url}/api/v1/namespaces`, { headers: { authorization: `Bearer ${plain.server.adminToken}` } });
      expect(((await admin.json()) as { items: unknown[] }).items).toHaveLength(4);
      // kubectl never sends credentials over plain HTTP, so it is refused like any anonymous client
      const listed = await plain.kubectl(['get', 'namespaces', '-o', 'name']);
      expect(listed.stderr).toContain('the server has asked for the client to provide credentials');
    } finally {
      await plain.close();
    }
  });
});

describe('node authorization', () => {
  it('lets a node read its own Node and pods bound to it', async () => {
    expect((await asNode('edge-a', 'GET', '/api/v1/nodes/edge-a')).status).toBe(200);
    expect((await asNode('edge-a', 'GET', '/api/v1/namespaces/default/pods/a-pod')).status).toBe(200);
    const pods = await asNode('edge-a', 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dedge-a');
    expect(pods.status).toBe(200);
    expect(pods.json.items.map((item: { metadata: { name: string } }) => item.metadata.name)).toEqual(['a-pod']);
    const nodes = await asNode('edge-a', 'GET', '/api/v1/nodes?fieldSelector=metadata.name%3Dedge-a');
    expect(nodes.json.items).toHaveLength(1);
  });

  it('attack - a node reads the ephemeral containers of its own pods, never adds one, never reads another node\'s', async () => {
    const own = await asNode('edge-a', 'GET', '/api/v1/namespaces/default/pods/a-pod/ephemeralcontainers');
    expect(own.status).toBe(200);
    expect(own.json.metadata.name).toBe('a-pod');
    const patch = { spec: { ephemeralContainers: [{ name: 'implant', image: 'busybox:1.36' }] } };
    const added = await test.request('PATCH', '/api/v1/namespaces/default/pods/a-pod/ephemeralcontainers', {
      token: null, cert: nodeCerts.get('edge-a'), body: patch, contentType: 'application/strategic-merge-patch+json',
    });
    expect(added.status).toBe(403);
    expect((await asNode('edge-a', 'GET', '/api/v1/namespaces/default/pods/b-pod/ephemeralcontainers')).status).toBe(403);
  });

  it('forbids another node, pods bound elsewhere and unscoped lists with a 403 Status naming the resource', async () => {
    const otherNode = await asNode('edge-a', 'GET', '/api/v1/nodes/edge-b');
    expect(otherNode.status).toBe(403);
    expect(otherNode.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403, details: { name: 'edge-b', kind: 'nodes' } });
    const otherPod = await asNode('edge-a', 'GET', '/api/v1/namespaces/default/pods/b-pod');
    expect(otherPod.status).toBe(403);
    expect(otherPod.json.message).toContain('pods "b-pod" is forbidden: User "system:node:edge-a" cannot get resource "pods" in API group "" in the namespace "default"');
    expect((await asNode('edge-a', 'GET', '/api/v1/pods')).status).toBe(403);
    expect((await asNode('edge-a', 'GET', '/api/v1/nodes')).status).toBe(403);
    expect((await asNode('edge-a', 'PATCH', '/api/v1/nodes/edge-b/status')).status).toBe(403);
    expect((await asNode('edge-a', 'GET', '/api/v1/namespaces')).status).toBe(403);
    expect((await asNode('edge-a', 'DELETE', '/api/v1/namespaces/default/pods/b-pod')).status).toBe(403);
  });

  it('lets a node read the secrets and configmaps its pods use, and nothing else', async () => {
    expect((await asNode('edge-a', 'GET', '/api/v1/namespaces/default/secrets/a-secret')).status).toBe(200);
    expect((await asNode('edge-a', 'GET', '/api/v1/namespaces/default/configmaps/a-config')).status).toBe(200);
    const unused = await asNode('edge-a', 'GET', '/api/v1/namespaces/default/secrets/b-secret');
    expect(unused.status).toBe(403);
    expect(unused.json.details).toMatchObject({ name: 'b-secret', kind: 'secrets' });
    expect((await asNode('edge-a', 'GET', '/api/v1/namespaces/default/secrets')).status).toBe(403);
    const watchOne = await asNode('edge-a', 'GET', '/api/v1/namespaces/default/secrets?fieldSelector=metadata.name%3Da-secret');
    expect(watchOne.status).toBe(200);
    expect((await asNode('edge-a', 'PUT', '/api/v1/namespaces/default/secrets/a-secret', { metadata: { name: 'a-secret' } })).status).toBe(403);
  });

  it('lets a node write its pod status, its Lease and events, and confirm its pods deletion', async () => {
    const status = await asNode('edge-a', 'PATCH', '/api/v1/namespaces/default/pods/a-pod/status', undefined);
    expect(status.status).toBe(415); // authorized; the empty body just is not a patch
    const patched = await test.request('PATCH', '/api/v1/namespaces/default/pods/a-pod/status', {
      token: null,
      cert: nodeCerts.get('edge-a'),
      body: { status: { phase: 'Running', podIP: '10.42.0.7' } },
      contentType: 'application/merge-patch+json',
    });
    expect(patched.status).toBe(200);
    expect(patched.json.status.phase).toBe('Running');
    expect((await asNode('edge-a', 'PATCH', '/api/v1/namespaces/default/pods/a-pod', {})).status).toBe(403);
    const lease = { metadata: { name: 'edge-a' }, spec: { holderIdentity: 'edge-a', leaseDurationSeconds: 40 } };
    expect((await asNode('edge-a', 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease)).status).toBe(201);
    const foreignLease = { metadata: { name: 'edge-b' }, spec: { holderIdentity: 'edge-a' } };
    expect((await asNode('edge-a', 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', foreignLease)).status).toBe(403);
    const event = { metadata: { name: 'a-pod.started' }, involvedObject: { kind: 'Pod', name: 'a-pod', namespace: 'default' }, reason: 'Started', type: 'Normal' };
    expect((await asNode('edge-a', 'POST', '/api/v1/namespaces/default/events', event)).status).toBe(201);
    // graceful deletion: the admin's delete waits; the node's grace-0 delete confirms it
    const deleting = await test.request('DELETE', '/api/v1/namespaces/default/pods/a-pod', { body: { kind: 'DeleteOptions', apiVersion: 'v1' } });
    expect(deleting.json?.metadata?.deletionTimestamp, `${deleting.status} ${deleting.text}`).toBeDefined();
    const confirmed = await asNode('edge-a', 'DELETE', '/api/v1/namespaces/default/pods/a-pod', { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
    expect(confirmed.status).toBe(200);
    expect((await test.request('GET', '/api/v1/namespaces/default/pods/a-pod')).status).toBe(404);
  });

  it('kubectl with a node certificate is told what it may not do', async () => {
    const cert = nodeCerts.get('edge-b')!;
    const kubeconfig = join(test.dataDir, 'edge-b.kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: k, cluster: {server: "${test.server.url}", certificate-authority-data: ${Buffer.from(ca.certPem).toString('base64')}}}]`,
        `users: [{name: "node", user: {client-certificate-data: ${Buffer.from(cert.certPem).toString('base64')}, client-key-data: ${Buffer.from(cert.keyPem).toString('base64')}}}]`,
        'contexts: [{name: k, context: {cluster: k, user: "node"}}]',
        'current-context: k',
        '',
      ].join('\n'),
    );
    const own = await runKubectl(kubeconfig, join(test.dataDir, 'cache-b'), ['get', 'pod', 'b-pod', '-o', 'name']);
    expect(own.stdout.trim(), own.stderr).toBe('pod/b-pod');
    const other = await runKubectl(kubeconfig, join(test.dataDir, 'cache-b'), ['get', 'node', 'edge-a']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('nodes "edge-a" is forbidden: User "system:node:edge-b" cannot get resource "nodes"');
  });
});
