// The whole sync stack in one process, with real parts: the embedded API server, CloudHub and
// EdgeController on one side; EdgeHub, MetaStore and MetaManager on the other; a proxy between them
// that cuts the link. Status written on the edge while offline must reach the API server when the
// link returns, latest value winning.
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startApiServer } from '@kedge/apiserver';
import { CloudHub, CloudHubMetrics } from '@kedge/cloudhub';
import { startEdgeController } from '@kedge/edgecontroller';
import { EdgeHub, EdgeHubMetrics } from '@kedge/edgehub';
import { MetaManager, MetaStore } from '@kedge/metamanager';
import { newMessage } from '@kedge/protocol';
import { MessageRouter } from '@kedge/router';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { Cleanup, createTestPki, waitFor } from '@kedge/testkit';
import { dialHub, listenHub } from '@kedge/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './harness';
import { CuttableProxy } from './tcp-proxy';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const silent = createLogger({ name: 'stack', level: 'silent' });

describe('edge sync - offline status', () => {
  it('pod status reported while the link is cut reaches the API server when it returns, latest wins', async () => {
    const pki = await createTestPki();
    const api = await startApiServer({ dataDir: tempDir('stack-api'), host: '127.0.0.1', port: 0, logger: silent });
    cleanup.add(() => api.close());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(api.adminKubeconfigPath);
    const core = kubeConfig.makeApiClient(CoreV1Api);

    const cloudRouter = new MessageRouter();
    const hub = new CloudHub({ router: cloudRouter, logger: silent, metrics: new CloudHubMetrics(createMetricsRegistry({ defaultMetrics: false })) });
    cleanup.add(() => hub.close());
    const controller = startEdgeController({ kubeConfig, hub, router: cloudRouter, logger: silent, registry: createMetricsRegistry({ defaultMetrics: false }) });
    cleanup.add(() => controller.close());
    await controller.ready;
    const listener = await listenHub('websocket', { host: '127.0.0.1', port: 0, tls: pki.server });
    hub.attach(listener);
    const proxy = await CuttableProxy.start(listener.port);
    cleanup.add(() => proxy.close());

    // the edge: the real hub, store and metamanager
    const edgeRouter = new MessageRouter();
    const edgeHub = new EdgeHub({
      nodeName: 'gw-s',
      dial: async () => dialHub('websocket', { url: `wss://127.0.0.1:${proxy.port}`, tls: await pki.node('gw-s'), nodeName: 'gw-s', handshakeTimeoutMs: 5_000 }),
      router: edgeRouter,
      logger: silent,
      metrics: new EdgeHubMetrics(createMetricsRegistry({ defaultMetrics: false })),
      heartbeatMs: 1_000,
      backoff: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    const store = new MetaStore({ file: join(tempDir('stack-edge'), 'edgecore.db') });
    const manager = new MetaManager({ store, router: edgeRouter, hub: edgeHub, logger: silent, registry: createMetricsRegistry({ defaultMetrics: false }), nodeName: 'gw-s' });
    cleanup.add(() => store.close());
    cleanup.add(() => manager.stop());
    cleanup.add(() => edgeHub.stop());
    edgeHub.start();
    manager.report(
      newMessage({
        source: 'edged',
        group: 'resource',
        operation: 'insert',
        resource: 'null/node/gw-s',
        content: { metadata: { name: 'gw-s' }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'EdgeReady', message: '' }] } },
      }),
    );
    await waitFor(async () => (await core.listNode()).items.some((n) => n.metadata?.name === 'gw-s'), 'node gw-s registered');

    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'meter' }, spec: { nodeName: 'gw-s', containers: [{ name: 'app', image: 'localhost/kedge/busybox:1' }] } },
    });
    await waitFor(() => store.get('pod', 'default', 'meter') !== undefined, 'the pod at the edge');
    // the node report's answer too: a Node in the API server does not mean its answer reached the edge before the cut
    await waitFor(() => store.outbox.depth() === 0, 'the node report answered');

    proxy.cutLink();
    await waitFor(() => !edgeHub.connected, 'the edge to notice the cut');
    const status = (phase: string, restarts: number) =>
      newMessage({
        source: 'edged',
        group: 'resource',
        operation: 'update',
        resource: 'default/podstatus/meter',
        content: { phase, containerStatuses: [{ name: 'app', ready: phase === 'Running', restartCount: restarts, image: 'localhost/kedge/busybox:1', imageID: '' }] },
      });
    manager.report(status('Pending', 0));
    manager.report(status('Running', 1));
    manager.report(status('Running', 2));
    expect(store.outbox.depth()).toBe(1); // coalesced per object while offline
    // nothing reached the cloud while cut
    expect((await core.readNamespacedPod({ name: 'meter', namespace: 'default' })).status?.phase).not.toBe('Running');

    proxy.restoreLink();
    await waitFor(async () => {
      const pod = await core.readNamespacedPod({ name: 'meter', namespace: 'default' });
      return pod.status?.phase === 'Running' && pod.status.containerStatuses?.[0]?.restartCount === 2;
    }, 'the latest status in the API server');
    await waitFor(() => store.outbox.depth() === 0, 'the outbox to drain');
  });
});
