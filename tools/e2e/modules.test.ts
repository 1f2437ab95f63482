// End-to-end: cloudcore and edgecore run as lists of modules (@kedge/modules): /healthz shows each
// module's state, a module that cannot start is named and the ones started before it are stopped, and
// SIGTERM stops them all in reverse order.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startApp, stopAll, tempDir, writeYaml } from './harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, writeTokenFile } from './cluster';

afterEach(stopAll);

interface Health {
  status: string;
  cloudConnected?: boolean;
  modules: Record<string, { state: string; ok: boolean; details?: Record<string, unknown> }>;
}

const healthOf = async (port: number): Promise<{ code: number; body: Health }> => {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { code: response.status, body: (await response.json()) as Health };
};

describe('daemon modules', () => {
  it('/healthz lists every module running; SIGTERM stops them in reverse start order', async () => {
    const cloud = await startCloudCore();
    const edge = startEdgeCore(cloud, { nodeName: 'gw-modules', token: await issueToken(cloud, ['--node', 'gw-modules']) });
    const ready = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    await cloud.process.waitForLog(isNodeConnected('gw-modules'), 'node connected');

    const cloudHealth = await healthOf(cloud.ports.metrics);
    expect(cloudHealth.code).toBe(200);
    expect(Object.keys(cloudHealth.body.modules)).toEqual(expect.arrayContaining(['kube-api', 'pki', 'edgecontroller', 'certificate-server', 'cloudhub', 'metrics']));
    expect(Object.values(cloudHealth.body.modules).every((m) => m.state === 'running' && m.ok)).toBe(true);
    expect(cloudHealth.body.modules['kube-api']?.details).toEqual({ source: 'embedded' });

    const edgePorts = ready.ports as { metrics: number };
    const edgeHealth = await healthOf(edgePorts.metrics);
    expect(edgeHealth.code).toBe(200);
    expect(edgeHealth.body.cloudConnected).toBe(true);
    expect(Object.keys(edgeHealth.body.modules)).toEqual(['node-certificate', 'metamanager', 'devices', 'resource-stats', 'edgehub', 'metaserver', 'pods', 'node-status', 'certificate-rotation', 'metrics']);
    expect(edgeHealth.body.modules.edgehub).toMatchObject({ state: 'running', ok: true, details: { cloudConnected: true } });

    const startOrder = edge.process.logs.filter((l) => l.msg === 'module started').map((l) => l.module);
    expect(startOrder).toEqual(ready.modules);
    expect(await edge.process.stop('SIGTERM')).toBe(0);
    const stopOrder = edge.process.logs.filter((l) => l.msg === 'module stopped').map((l) => l.module);
    expect(stopOrder).toEqual([...startOrder].reverse());
  });

  it('a module that cannot start is named, the ones started before it are stopped, and the process exits 1', async () => {
    // the hub's WebSocket port is taken, so the cloudhub module fails after kube-api, pki and the controllers started
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const dataDir = tempDir('modules');
      const configFile = writeYaml(join(dataDir, 'cloudcore.yaml'), {
        dataDir,
        cloudHub: {
          websocket: { address: '127.0.0.1', port: (blocker.address() as AddressInfo).port },
          https: { address: '127.0.0.1', port: 0 },
        },
        kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } },
        metrics: { address: '127.0.0.1', port: 0 },
        log: { level: 'debug' },
      });
      const cloud = startApp('cloudcore', ['--config', configFile]);
      expect(await cloud.waitForExit()).toBe(1);
      const fatal = cloud.logs.find((l) => l.msg === 'cloudcore could not start');
      expect(fatal).toMatchObject({ module: 'cloudhub', error: expect.stringMatching(/EADDRINUSE/) });
      const started = cloud.logs.filter((l) => l.msg === 'module started').map((l) => l.module);
      expect(started).toEqual(expect.arrayContaining(['kube-api', 'pki', 'certificate-server']));
      expect(started).not.toContain('cloudhub');
      const stopped = cloud.logs.filter((l) => l.msg === 'module stopped').map((l) => l.module);
      expect(stopped).toEqual([...started].reverse());
    } finally {
      blocker.close();
    }
  });

  it('edgecore loads the code of a feature only when its config turns it on; /debug/memory says which and where the bytes are', async () => {
    const cloud = await startCloudCore();
    // the harness's edgecore: MetaServer and the embedded broker on, edged off
    const full = startEdgeCore(cloud, { nodeName: 'gw-features-on', token: await issueToken(cloud, ['--node', 'gw-features-on']) });
    // a bare one: MetaServer, the EventBus and edged off
    const bareDir = tempDir('edge-gw-features-off');
    const bareConfig = writeYaml(join(bareDir, 'edgecore.yaml'), {
      nodeName: 'gw-features-off',
      dataDir: bareDir,
      edgeHub: { protocol: 'websocket', server: `127.0.0.1:${cloud.ports.websocket}`, httpServer: `https://127.0.0.1:${cloud.ports.https}` },
      metrics: { address: '127.0.0.1', port: 0 },
      metaServer: { enable: false },
      eventBus: { enable: false },
      edged: { enable: false },
    });
    const bare = startApp('edgecore', ['--config', bareConfig, '--token-file', writeTokenFile(bareDir, await issueToken(cloud, ['--node', 'gw-features-off']))]);
    const memoryOf = async (ready: { [key: string]: unknown }): Promise<{ features: string[]; kernel: { rss: number }; v8: { heapUsed: number; spaces: Record<string, { committed: number }> } }> => {
      const response = await fetch(`http://127.0.0.1:${(ready.ports as { metrics: number }).metrics}/debug/memory`);
      expect(response.status).toBe(200);
      return (await response.json()) as never;
    };

    const fullMemory = await memoryOf(await full.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready'));
    expect(fullMemory.features).toEqual(['devices', 'metaserver']);
    expect(fullMemory.kernel.rss).toBeGreaterThan(fullMemory.v8.heapUsed);
    expect(fullMemory.v8.spaces.old_space?.committed).toBeGreaterThan(0);

    const bareReady = await bare.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    expect(bareReady.modules).toEqual(['node-certificate', 'metamanager', 'devices', 'resource-stats', 'edgehub', 'pods', 'node-status', 'certificate-rotation', 'metrics']);
    expect((await memoryOf(bareReady)).features).toEqual([]);
  });
});
