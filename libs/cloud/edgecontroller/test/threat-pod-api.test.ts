// Threat suite: what an edge may ask the cloud on behalf of its pods. A node gets ServiceAccount tokens
// only for its own pods' own ServiceAccounts (the Node authorizer's rule); a token is reviewed, authorized
// or used for a write only when it is bound to a pod of the asking node; and a forwarded write is done
// with the pod's token as the only credential, never with cloudcore's rights.
// Real API server (RBAC, ServiceAccount tokens), real CloudHub socket, simulated edges with node certificates.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Cleanup, EdgeRequestError, createTestPki, metricValue, type SimulatedEdge, type TestPki } from '@kedge/testkit';
import { startCloud, type TestCloud } from './fixtures/cloud';
import { podSpec, registerNode } from './fixtures/kube';

let pki: TestPki;
const cleanup = new Cleanup();

beforeAll(async () => {
  pki = await createTestPki();
});
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

type Json = Record<string, unknown>;

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EdgeRequestError) return String(error.reply.content);
    throw error;
  }
  throw new Error('expected the cloud to answer with an error');
}

async function answer(edge: SimulatedEdge, resource: string, content: unknown): Promise<Json> {
  return (await edge.request('query', resource, content)).content as Json;
}

/** Two edges; pod `meter` (ServiceAccount `reader`, may get configmaps) on edge-a, pod `other` on edge-b. */
async function setUp(): Promise<{ cloud: TestCloud; edgeA: SimulatedEdge; edgeB: SimulatedEdge; meterUid: string; otherUid: string }> {
  const cloud = await startCloud(pki, cleanup);
  const edgeA = await cloud.edge('edge-a');
  const edgeB = await cloud.edge('edge-b');
  await registerNode(edgeA);
  await registerNode(edgeB);
  await cloud.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'reader' } } });
  const rbac = cloud.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace: 'default', body: { metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: 'default',
    body: { metadata: { name: 'reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'default' }] },
  });
  const meter = await cloud.core.createNamespacedPod({ namespace: 'default', body: { ...podSpec('meter', 'default', 'edge-a'), spec: { ...podSpec('meter', 'default', 'edge-a').spec!, serviceAccountName: 'reader' } } });
  const other = await cloud.core.createNamespacedPod({ namespace: 'default', body: podSpec('other', 'default', 'edge-b') });
  return { cloud, edgeA, edgeB, meterUid: meter.metadata?.uid ?? '', otherUid: other.metadata?.uid ?? '' };
}

describe('threat - pod API access through the cloud', () => {
  it('a node gets a token for its own pod, bound to the pod; the token reviews as the pod and RBAC decides its reads', async () => {
    const { edgeA, meterUid } = await setUp();
    const issued = await answer(edgeA, 'default/serviceaccounttoken/meter', { podUID: meterUid, serviceAccountName: 'reader', expirationSeconds: 3607 });
    expect(typeof issued['token']).toBe('string');
    expect(Date.parse(String(issued['expirationTimestamp']))).toBeGreaterThan(Date.now() + 3000_000);

    const review = await answer(edgeA, 'null/podapi/tokenreview', { token: issued['token'] });
    expect(review).toMatchObject({ authenticated: true, user: { username: 'system:serviceaccount:default:reader', extra: { 'authentication.kubernetes.io/pod-name': ['meter'] } } });
    const access = (verb: string, resource: string) => answer(edgeA, 'null/podapi/accessreview', { token: issued['token'], attributes: { verb, group: '', resource, namespace: 'default' } });
    expect(await access('list', 'configmaps')).toEqual({ allowed: true });
    expect(await access('get', 'secrets')).toMatchObject({ allowed: false });
  });

  it('attack - a node asks for a token of another node\'s pod, of another ServiceAccount, or of a recreated pod: refused', async () => {
    const { cloud, edgeA, meterUid, otherUid } = await setUp();
    expect(await refusal(edgeA.request('query', 'default/serviceaccounttoken/other', { podUID: otherUid, serviceAccountName: 'default', expirationSeconds: 3600 }))).toMatch(/^pod-not-bound/);
    // its own pod, but a mightier ServiceAccount than the pod runs as
    expect(await refusal(edgeA.request('query', 'default/serviceaccounttoken/meter', { podUID: meterUid, serviceAccountName: 'default', expirationSeconds: 3600 }))).toMatch(/^foreign-service-account/);
    expect(await refusal(edgeA.request('query', 'default/serviceaccounttoken/meter', { podUID: 'not-the-uid', serviceAccountName: 'reader', expirationSeconds: 3600 }))).toMatch(/^pod-not-bound/);
    expect(await refusal(edgeA.request('query', 'default/serviceaccounttoken/meter', { podUID: meterUid, serviceAccountName: 'reader', expirationSeconds: 1 }))).toMatch(/^invalid: .*expirationSeconds/);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'pod-not-bound' })).toBe(2);
    expect(await metricValue(cloud.registry, 'kedge_edgecontroller_refused_total', { reason: 'foreign-service-account' })).toBe(1);
  });

  it('attack - the token of a pod on another node is refused by the cloud (review, access review and write)', async () => {
    const { edgeA, edgeB, otherUid } = await setUp();
    const stolen = String((await answer(edgeB, 'default/serviceaccounttoken/other', { podUID: otherUid, serviceAccountName: 'default', expirationSeconds: 3600 }))['token']);
    expect(await refusal(edgeA.request('query', 'null/podapi/tokenreview', { token: stolen }))).toMatch(/^pod-not-bound: .*pod default\/other, which is not bound to node "edge-a"/);
    expect(await refusal(edgeA.request('query', 'null/podapi/accessreview', { token: stolen, attributes: { verb: 'get', group: '', resource: 'pods' } }))).toMatch(/^pod-not-bound/);
    expect(await refusal(edgeA.request('query', 'null/podapi/request', { token: stolen, method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: '{"metadata":{"name":"x"}}' }))).toMatch(/^pod-not-bound/);
  });

  it('attack - a forwarded write runs with the pod\'s token only: no rights, a forged or an admin-free token never borrow cloudcore\'s', async () => {
    const { cloud, edgeA, meterUid } = await setUp();
    const token = String((await answer(edgeA, 'default/serviceaccounttoken/meter', { podUID: meterUid, serviceAccountName: 'reader', expirationSeconds: 3600 }))['token']);
    const write = (withToken: string) =>
      answer(edgeA, 'null/podapi/request', { token: withToken, method: 'POST', path: '/api/v1/namespaces/default/configmaps', contentType: 'application/json', body: JSON.stringify({ metadata: { name: 'planted' }, data: { a: 'b' } }) });
    // the reader may not create configmaps: the API server's own 403, verbatim
    const refused = await write(token);
    expect(refused['code']).toBe(403);
    expect(JSON.parse(String(refused['body']))).toMatchObject({ kind: 'Status', reason: 'Forbidden', message: expect.stringContaining('system:serviceaccount:default:reader') });
    // a forged token: the API server's 401, nothing done as cloudcore
    const forged = `${token.slice(0, -8)}AAAAAAAA`;
    expect((await write(forged))['code']).toBe(401);
    expect((await write('not-a-jwt'))['code']).toBe(401);
    await expect(cloud.core.readNamespacedConfigMap({ namespace: 'default', name: 'planted' })).rejects.toMatchObject({ code: 404 });
    // a path outside the API, or a method that is not a write, is not forwarded at all
    expect(await refusal(edgeA.request('query', 'null/podapi/request', { token, method: 'POST', path: 'https://evil.example/api/v1' }))).toMatch(/^invalid: .*content.path/);
    expect(await refusal(edgeA.request('query', 'null/podapi/request', { token, method: 'GET', path: '/api/v1/secrets' }))).toMatch(/^invalid: .*content.method/);
  });

  it('a forwarded write the pod may do is done, and the API server\'s answer comes back verbatim', async () => {
    const { cloud, edgeA, meterUid } = await setUp();
    const rbac = cloud.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.patchNamespacedRole({ namespace: 'default', name: 'reader', body: [{ op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] } }] });
    const token = String((await answer(edgeA, 'default/serviceaccounttoken/meter', { podUID: meterUid, serviceAccountName: 'reader', expirationSeconds: 3600 }))['token']);
    const created = await answer(edgeA, 'null/podapi/request', { token, method: 'POST', path: '/api/v1/namespaces/default/configmaps', contentType: 'application/json', body: JSON.stringify({ metadata: { name: 'from-edge' }, data: { a: 'b' } }) });
    expect(created['code']).toBe(201);
    expect(JSON.parse(String(created['body']))).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'from-edge', managedFields: [expect.objectContaining({ manager: expect.any(String) })] } });
    expect((await cloud.core.readNamespacedConfigMap({ namespace: 'default', name: 'from-edge' })).data).toEqual({ a: 'b' });
    const again = await answer(edgeA, 'null/podapi/request', { token, method: 'POST', path: '/api/v1/namespaces/default/configmaps', contentType: 'application/json', body: JSON.stringify({ metadata: { name: 'from-edge' } }) });
    expect(again['code']).toBe(409);
  });
});
