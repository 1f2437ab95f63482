// MetaServer's pod access against the real cloud, in one process: the embedded API server (RBAC,
// ServiceAccount tokens), CloudHub and EdgeController; EdgeHub, MetaStore, MetaManager and MetaServer on
// the edge side, with a proxy between them that cuts the link. Pod tokens are asked for as edged asks.
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { startApiServer } from '@kedge/apiserver';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { startEdgeController } from '@kedge/edgecontroller';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { ensureLocalCredential, HubPodApiCloud, MetaManager, MetaStore, PodAccess, startMetaServer, type MetaServer } from '@kedge/metamanager';
import { newMessage } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { Cleanup, createTestPki, metricValue, waitFor } from '@kedge/testkit';
import { dialHub, listenHub } from '@kedge/transport';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './harness';
import { CuttableProxy } from './tcp-proxy';

const cleanup = new Cleanup();
afterAll(() => cleanup.run());
const silent = createLogger({ name: 'pod-api', level: 'silent' });
const NODE = 'gw-pa';

interface Answer {
  code: number;
  body: Record<string, unknown>;
}

function call(server: MetaServer, caPem: string, token: string, method: string, path: string, body?: string): Promise<Answer> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca: caPem, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ code: response.statusCode ?? 0, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('pod API - MetaServer with pod tokens against the real cloud', () => {
  let core: CoreV1Api;
  let proxy: CuttableProxy;
  let edgeHub: EdgeHub;
  let server: MetaServer;
  let caPem: string;
  let localToken: string;
  let cloudPodApi: HubPodApiCloud;
  let edgeRegistry: Registry;
  let meterToken: string;

  beforeAll(async () => {
    const pki = await createTestPki();
    const api = await startApiServer({ dataDir: tempDir('podapi-api'), host: '127.0.0.1', port: 0, logger: silent });
    cleanup.add(() => api.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(api.adminKubeconfigPath);
    core = kubeConfig.makeApiClient(CoreV1Api);
    const cloudRouter = new MessageRouter();
    const hub = new CloudHub({ router: cloudRouter, logger: silent, metrics: new CloudHubMetrics(createMetricsRegistry({ defaultMetrics: false })) });
    cleanup.add(() => hub.close());
    const controller = startEdgeController({ kubeConfig, hub, router: cloudRouter, logger: silent, registry: createMetricsRegistry({ defaultMetrics: false }) });
    cleanup.add(() => controller.close());
    await controller.ready;
    const listener = await listenHub('websocket', { host: '127.0.0.1', port: 0, tls: pki.server });
    hub.attach(listener);
    proxy = await CuttableProxy.start(listener.port);
    cleanup.add(() => proxy.close());

    const edgeRouter = new MessageRouter();
    edgeHub = new EdgeHub({
      nodeName: NODE,
      dial: async () => dialHub('websocket', { url: `wss://127.0.0.1:${proxy.port}`, tls: await pki.node(NODE), nodeName: NODE, handshakeTimeoutMs: 5_000 }),
      router: edgeRouter,
      logger: silent,
      metrics: new EdgeHubMetrics(createMetricsRegistry({ defaultMetrics: false })),
      heartbeatMs: 1_000,
      backoff: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const edgeDir = tempDir('podapi-edge');
    const store = new MetaStore({ file: join(edgeDir, 'edgecore.db') });
    const manager = new MetaManager({ store, router: edgeRouter, hub: edgeHub, logger: silent, registry: createMetricsRegistry({ defaultMetrics: false }), nodeName: NODE });
    cleanup.add(() => store.close());
    cleanup.add(() => manager.stop());
    cleanup.add(() => edgeHub.stop());
    edgeHub.start();
    const credential = await ensureLocalCredential({ dir: join(edgeDir, 'metaserver') });
    caPem = credential.caPem;
    localToken = credential.token;
    cloudPodApi = new HubPodApiCloud(edgeRouter, edgeHub);
    edgeRegistry = createMetricsRegistry({ defaultMetrics: false });
    server = await startMetaServer({ store, port: 0, localToken, tls: credential.tls, logger: silent, registry: edgeRegistry, podAccess: new PodAccess({ cloud: cloudPodApi, reviews: store.podReviews }) });
    cleanup.add(() => server.close());

    manager.report(newMessage({ source: 'edged', group: 'resource', operation: 'insert', resource: `null/node/${NODE}`, content: { metadata: { name: NODE }, status: {} } }));
    await waitFor(async () => (await core.listNode()).items.some((node) => node.metadata?.name === NODE), 'the node registered');
    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'reader' } } });
    const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: 'default', body: { metadata: { name: 'reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: 'default',
      body: { metadata: { name: 'reader' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'default' }] },
    });
    const pod = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'meter' }, spec: { nodeName: NODE, serviceAccountName: 'reader', containers: [{ name: 'app', image: 'localhost/kedge/busybox:1' }] } } });
    await waitFor(() => store.get('pod', 'default', 'meter') !== undefined, 'the pod at the edge');
    meterToken = (await cloudPodApi.serviceAccountToken('default', 'meter', { podUID: pod.metadata?.uid ?? '', serviceAccountName: 'reader', expirationSeconds: 3600 })).token;
  });

  it('a pod token reads what RBAC allows, is refused the rest with a 403 Status, and writes go to the cloud with the pod token', async () => {
    const pods = await call(server, caPem, meterToken, 'GET', '/api/v1/namespaces/default/pods');
    expect(pods.code).toBe(200);
    expect(JSON.stringify(pods.body)).toContain('"meter"');
    const secrets = await call(server, caPem, meterToken, 'GET', '/api/v1/namespaces/default/secrets');
    expect(secrets.code).toBe(403);
    expect(secrets.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', message: expect.stringContaining('User "system:serviceaccount:default:reader" cannot list resource "secrets"') });
    // the reader may not create: the cloud API server's 403, verbatim
    const write = await call(server, caPem, meterToken, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'planted' } }));
    expect(write.code).toBe(403);
    expect(write.body).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(await metricValue(edgeRegistry, 'kedge_metaserver_forwarded_writes_total', { result: '4xx' })).toBe(1);
  });

  it('attack - a forged, expired or foreign token is refused with 401', async () => {
    const [header, payload, signature] = meterToken.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const expired = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })).toString('base64url')}.${signature}`;
    const elevated = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url')}.${signature}`;
    for (const token of [expired, elevated, `${meterToken.slice(0, -6)}AAAAAA`, 'guessed-token-0123456789']) {
      const answer = await call(server, caPem, token, 'GET', '/api/v1/namespaces/default/pods');
      expect(answer.code).toBe(401);
      expect(answer.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    }
    expect(await metricValue(edgeRegistry, 'kedge_metaserver_refused_total', { reason: 'bad_credential' })).toBeGreaterThanOrEqual(4);
  });

  it('attack - a write with the local credential is refused at the edge and never reaches the cloud', async () => {
    const before = (await metricValue(edgeRegistry, 'kedge_metaserver_forwarded_writes_total', { result: '2xx' })) ?? 0;
    const answer = await call(server, caPem, localToken, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'by-local-credential' } }));
    expect(answer.code).toBe(405);
    expect(answer.body).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed' });
    await expect(core.readNamespacedConfigMap({ namespace: 'default', name: 'by-local-credential' })).rejects.toMatchObject({ code: 404 });
    expect((await metricValue(edgeRegistry, 'kedge_metaserver_forwarded_writes_total', { result: '2xx' })) ?? 0).toBe(before);
  });

  it('offline: a confirmed token keeps reading, an unknown token gets a 401 naming the cloud, and writes get a 503 Status', async () => {
    const other = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'late' }, spec: { nodeName: NODE, serviceAccountName: 'reader', containers: [{ name: 'app', image: 'localhost/kedge/busybox:1' }] } } });
    const neverUsed = (await cloudPodApi.serviceAccountToken('default', 'late', { podUID: other.metadata?.uid ?? '', serviceAccountName: 'reader', expirationSeconds: 3600 })).token;
    expect((await call(server, caPem, meterToken, 'GET', '/api/v1/namespaces/default/pods')).code).toBe(200);
    proxy.cutLink();
    await waitFor(() => !edgeHub.connected, 'the edge to notice the cut');

    expect((await call(server, caPem, meterToken, 'GET', '/api/v1/namespaces/default/pods')).code).toBe(200);
    const unknown = await call(server, caPem, neverUsed, 'GET', '/api/v1/namespaces/default/pods');
    expect(unknown.code).toBe(401);
    expect(String(unknown.body['message'])).toContain('cloud cannot be reached');
    const write = await call(server, caPem, meterToken, 'POST', '/api/v1/namespaces/default/configmaps', JSON.stringify({ metadata: { name: 'offline' } }));
    expect(write.code).toBe(503);
    expect(write.body).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', message: expect.stringContaining('the cloud link is down') });
    // a read never decided before cannot be checked offline: 503, not a guess
    const undecided = await call(server, caPem, meterToken, 'GET', '/api/v1/namespaces/default/services');
    expect(undecided.code).toBe(503);
    proxy.restoreLink();
    await waitFor(() => edgeHub.connected, 'the edge to reconnect');
  });
});
