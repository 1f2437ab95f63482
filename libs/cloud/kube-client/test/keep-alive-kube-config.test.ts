// KeepAliveKubeConfig against the embedded API server on loopback: typed API clients reuse one TLS connection
// instead of opening one per request (client-node's own KubeConfig), and still work after the server restarts.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '@kedge/pki';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Cleanup } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepAliveKubeConfig } from '../src/index';
import { startTestApi } from './fixtures/api-server';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Counts the HTTP requests this process sends to `port` on a new connection (not a reused one) while `work` runs. */
async function socketsOpenedTo(port: number, work: () => Promise<void>): Promise<number> {
  let opened = 0;
  const onResponse = (message: unknown): void => {
    const request = (message as { request: ClientRequest }).request;
    if (request.socket?.remotePort === port && !request.reusedSocket) opened += 1;
  };
  subscribe('http.client.response.finish', onResponse);
  try {
    await work();
  } finally {
    unsubscribe('http.client.response.finish', onResponse);
  }
  return opened;
}

async function tenReads(core: CoreV1Api): Promise<void> {
  for (let i = 0; i < 10; i++) await core.listNamespacedConfigMap({ namespace: 'default' });
}

describe('KeepAliveKubeConfig', () => {
  it('connections - ten requests in a row share one TLS connection (client-node alone opens one per request)', async () => {
    const api = await startTestApi(cleanup);
    const port = Number(new URL(api.kubeConfig.getCurrentCluster()?.server ?? '').port);
    const plain = new KubeConfig();
    plain.loadFromString(api.kubeConfig.exportConfig());
    const pooled = new KeepAliveKubeConfig();
    pooled.loadFromString(api.kubeConfig.exportConfig());
    cleanup.add(() => pooled.closeConnections());

    expect(await socketsOpenedTo(port, () => tenReads(plain.makeApiClient(CoreV1Api)))).toBe(10);
    expect(await socketsOpenedTo(port, () => tenReads(pooled.makeApiClient(CoreV1Api)))).toBe(1);
  });

  it('connections - requests made at once each get a connection, and later ones reuse them', async () => {
    const api = await startTestApi(cleanup);
    const port = Number(new URL(api.kubeConfig.getCurrentCluster()?.server ?? '').port);
    const pooled = new KeepAliveKubeConfig();
    pooled.loadFromString(api.kubeConfig.exportConfig());
    cleanup.add(() => pooled.closeConnections());
    const core = pooled.makeApiClient(CoreV1Api);
    const atOnce = () => Promise.all(Array.from({ length: 4 }, () => core.listNamespacedConfigMap({ namespace: 'default' }))).then(() => undefined);
    expect(await socketsOpenedTo(port, atOnce)).toBe(4);
    expect(await socketsOpenedTo(port, atOnce)).toBe(0);
  });

  it('connections - after the API server restarts, the next request opens a new connection and succeeds', async () => {
    const api = await startTestApi(cleanup);
    const pooled = new KeepAliveKubeConfig();
    pooled.loadFromString(api.kubeConfig.exportConfig());
    cleanup.add(() => pooled.closeConnections());
    const core = pooled.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' } } });
    const start = await api.stop();
    await start();
    const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'before' });
    expect(read.metadata?.name).toBe('before');
  });

  it('attack - a kubeconfig loaded again with another client certificate never rides the pooled connection of the old one', async () => {
    // a TLS server that asks for a client certificate and answers a ConfigMapList naming who the connection is
    const ca = await createCertificateAuthority({ commonName: 'test-ca' });
    const serving = await issueServerCertificate(ca, { commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
    const server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (_request, response) => {
      const peer = (response.socket as TLSSocket).getPeerCertificate();
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: String(peer.subject?.CN) } }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    const kubeconfigAs = async (user: string): Promise<string> => {
      const client = await issueClientCertificate(ca, { commonName: user });
      const data = (pem: string): string => Buffer.from(pem).toString('base64');
      return JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: `https://127.0.0.1:${port}`, 'certificate-authority-data': data(ca.certPem) } }],
        users: [{ name: user, user: { 'client-certificate-data': data(client.certPem), 'client-key-data': data(client.keyPem) } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user } }],
        'current-context': 'test',
      });
    };
    const pooled = new KeepAliveKubeConfig();
    cleanup.add(() => pooled.closeConnections());
    const whoAmI = async (): Promise<string | undefined> => (await pooled.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' })).items[0]?.metadata?.name;

    pooled.loadFromString(await kubeconfigAs('alice'));
    expect(await socketsOpenedTo(port, async () => void expect(await whoAmI()).toBe('alice'))).toBe(1);
    expect(await socketsOpenedTo(port, async () => void expect(await whoAmI()).toBe('alice'))).toBe(0);
    pooled.loadFromString(await kubeconfigAs('bob'));
    expect(await whoAmI()).toBe('bob');
  });
});
