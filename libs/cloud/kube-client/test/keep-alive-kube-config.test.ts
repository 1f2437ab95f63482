// KeepAliveKubeConfig against the embedded API server on loopback: typed API clients reuse one TLS connection
// instead of opening one per request (client-node's own KubeConfig), and still work after the server restarts.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
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

  it('attack - a kubeconfig loaded again with another identity never rides the pooled connection of the old one (its client certificate)', async () => {
    const api = await startTestApi(cleanup);
    const port = Number(new URL(api.kubeConfig.getCurrentCluster()?.server ?? '').port);
    const pooled = new KeepAliveKubeConfig();
    pooled.loadFromString(api.kubeConfig.exportConfig());
    cleanup.add(() => pooled.closeConnections());
    expect(await socketsOpenedTo(port, () => tenReads(pooled.makeApiClient(CoreV1Api)))).toBe(1);
    // the same kubeconfig with its user's certificate dropped: the pooled connection carries the old certificate
    const exported = JSON.parse(pooled.exportConfig()) as { users: { user: Record<string, unknown> }[] };
    for (const user of exported.users) user.user = { token: 'not-a-valid-token' };
    pooled.loadFromString(JSON.stringify(exported));
    await expect(pooled.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' })).rejects.toMatchObject({ code: 401 });
  });
});
