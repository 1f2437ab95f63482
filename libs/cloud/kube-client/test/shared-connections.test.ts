// shareApiConnections: client-node's typed clients open a new TLS connection per call; with it, calls of
// one KubeConfig reuse kept-alive connections. Connections are counted by a TCP forwarder in front of the
// real embedded API server.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cleanup } from '@kedge/testkit';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { shareApiConnections } from '../src/index';
import { startTestApi } from './fixtures/api-server';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

/** A loopback TCP forwarder to `port` that counts the connections it accepted. */
async function countingForwarder(port: number): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as { port: number }).port, accepted: () => accepted };
}

/** a KubeConfig of the test API whose server URL goes through the forwarder */
async function forwardedKubeConfig(): Promise<{ kubeConfig: KubeConfig; accepted: () => number }> {
  const api = await startTestApi(cleanup);
  const server = new URL(api.kubeConfig.getCurrentCluster()!.server);
  const forwarder = await countingForwarder(Number(server.port));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeConfig.exportConfig());
  const cluster = kubeConfig.getCurrentCluster()!;
  kubeConfig.clusters = kubeConfig.clusters.map((c) => (c.name === cluster.name ? { ...c, server: `https://127.0.0.1:${forwarder.port}` } : c));
  return { kubeConfig, accepted: forwarder.accepted };
}

describe('shared-connections - typed API clients reuse kept-alive connections', () => {
  it('shared-connections - without it, each typed call opens its own connection (client-node 1.4)', async () => {
    const { kubeConfig, accepted } = await forwardedKubeConfig();
    const core = kubeConfig.makeApiClient(CoreV1Api);
    for (let i = 0; i < 4; i++) await core.listNamespace();
    expect(accepted()).toBe(4);
  });

  it('shared-connections - sequential calls of every client of the KubeConfig share one connection', async () => {
    const { kubeConfig, accepted } = await forwardedKubeConfig();
    const made = kubeConfig.makeApiClient(CoreV1Api);
    shareApiConnections(kubeConfig);
    const later = kubeConfig.makeApiClient(CoreV1Api);
    await later.createNamespace({ body: { metadata: { name: 'shared' } } });
    for (let i = 0; i < 3; i++) {
      await made.createNamespacedConfigMap({ namespace: 'shared', body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } } });
      await later.readNamespacedConfigMap({ namespace: 'shared', name: `cm-${i}` });
    }
    expect((await made.listNamespacedConfigMap({ namespace: 'shared' })).items.map((cm) => cm.metadata?.name).sort()).toEqual(['cm-0', 'cm-1', 'cm-2']);
    expect(accepted()).toBe(1);
  });

  it('shared-connections - concurrent calls open more connections, which later calls reuse', async () => {
    const { kubeConfig, accepted } = await forwardedKubeConfig();
    const core = shareApiConnections(kubeConfig).makeApiClient(CoreV1Api);
    await Promise.all(Array.from({ length: 4 }, () => core.listNamespace()));
    const opened = accepted();
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(opened).toBeLessThanOrEqual(4);
    for (let i = 0; i < 8; i++) await core.listNamespace();
    expect(accepted()).toBe(opened);
  });
});
