// Threat suite, end to end: one edge cannot starve cloudcore. A real cloudcore process (embedded API
// server, EdgeController, CloudHub on WebSocket) serves 50 well-behaved simulated edges (real protocol,
// real node certificates) while one edge floods it with valid messages and another with garbage. The
// good edges keep their sessions (their keepalives are read within the keepalive timeout) and get the
// pods scheduled to them; the flood is paused, the garbage disconnected, both counted.
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadOrCreateAuthority } from '@kedge/pki';
import { Group, Operation, newMessage } from '@kedge/protocol';
import { SimulatedEdge, prometheusSum, waitFor } from '@kedge/testkit';
import { dialHub } from '@kedge/transport';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { benchTempDir, loopbackCloudCoreConfig, mapLimit, nodeTlsMaterial, removeTempDirs, repoRoot, startCloudCoreProcess, type CloudCoreProcess } from '../bench/bench-kit';

const GOOD_EDGES = 50;
const KEEPALIVE_TIMEOUT_SECONDS = 10;
let cloud: CloudCoreProcess | undefined;
const edges: SimulatedEdge[] = [];

afterAll(async () => {
  await Promise.allSettled(edges.map((edge) => edge.disconnect()));
  await cloud?.stop();
  removeTempDirs();
});

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe('threat - one edge against cloudcore', () => {
  it('attack - one edge flooding valid and invalid messages is paused and cut while 50 good edges keep their keepalives and get their pods', async () => {
    const dataDir = benchTempDir('kedge-security-flood-');
    cloud = await startCloudCoreProcess({
      repoRoot,
      dataDir,
      config: loopbackCloudCoreConfig(
        {
          https: { enable: false },
          keepaliveTimeoutSeconds: KEEPALIVE_TIMEOUT_SECONDS,
          inbound: { messagesPerSecond: 100, messageBurst: 200, maxBadFramesPerMinute: 20 },
        },
        { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } }, nodeLifecycle: { enable: false } },
      ),
    });
    const { websocket, metrics: metricsPort } = cloud.ports;
    if (websocket === undefined || metricsPort === undefined || cloud.kubeconfig === undefined) throw new Error('cloudcore without a hub, metrics or API');
    const hubUrl = `wss://127.0.0.1:${websocket}`;
    const ca = await loadOrCreateAuthority(join(dataDir, 'pki'));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cloud.kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);

    const names = Array.from({ length: GOOD_EDGES }, (_, i) => `good-${String(i).padStart(2, '0')}`);
    const materials = await mapLimit(names, 8, (name) => nodeTlsMaterial(ca, name));
    edges.push(...names.map((name, i) => new SimulatedEdge({ nodeName: name, hubUrl, tls: materials[i]!, keepaliveMs: 2_000, requestTimeoutMs: 60_000 })));
    await Promise.all(edges.map((edge) => edge.connect()));
    await mapLimit(edges, 8, (edge) => edge.register());

    // the valid flood: node status updates as fast as the link takes them, which would make cloudcore
    // write to its API server for every one; nothing awaits them (a flooder does not care)
    const flooder = await dialHub('websocket', { url: hubUrl, tls: await nodeTlsMaterial(ca, 'flooder'), nodeName: 'flooder', handshakeTimeoutMs: 10_000 });
    let flooding = true;
    const flood = (async () => {
      for (let i = 0; flooding && !flooder.closed; i += 1) {
        const message =
          i % 2 === 0
            ? newMessage({ source: 'edgehub', group: Group.Resource, operation: Operation.Keepalive, resource: 'null/node/flooder', content: 'ping' })
            : newMessage({ source: 'metamanager', group: Group.Resource, operation: Operation.Update, resource: `default/pod/flood-${i}`, content: { status: { phase: 'Running' } } });
        flooder.send(message).catch(() => undefined);
        // yield now and then, as a real process would between socket writes
        if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    // the invalid flood: garbage text frames from a second rogue node
    const garbageTls = await nodeTlsMaterial(ca, 'garbage');
    const garbage = new WebSocket(`${hubUrl}/project/garbage/events`, { cert: garbageTls.cert, key: garbageTls.key, ca: garbageTls.ca });
    const garbageClosed = new Promise<void>((resolve) => garbage.once('close', () => resolve()));
    garbage.on('error', () => undefined);
    garbage.once('open', () => {
      for (let i = 0; i < 1_000 && garbage.readyState === WebSocket.OPEN; i += 1) garbage.send(`{"not": "a message" ${i}`);
    });

    // meanwhile the good edges get their pods, one each
    await mapLimit(names, 8, (name) =>
      core.createNamespacedPod({
        namespace: 'default',
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `app-${name}` }, spec: { nodeName: name, containers: [{ name: 'app', image: 'registry.local/app:1' }] } },
      }),
    );
    await waitFor(() => edges.every((edge) => edge.store.has(`pod/default/app-${edge.nodeName}`)), 'every good edge to get its pod', { timeoutMs: 60_000 });
    await garbageClosed;

    // hold the flood past the keepalive timeout: the good edges' keepalives must still be read in time
    await new Promise((resolve) => setTimeout(resolve, (KEEPALIVE_TIMEOUT_SECONDS + 2) * 1000));
    flooding = false;
    await flood;
    expect(edges.filter((edge) => edge.remoteCloses > 0 || !edge.connected).map((edge) => edge.nodeName)).toEqual([]);

    const text = await metrics(metricsPort);
    expect(prometheusSum(text, 'kedge_cloudhub_inbound_paused_total', { reason: 'rate' })).toBeGreaterThan(0);
    expect(prometheusSum(text, 'kedge_cloudhub_refused_connections_total', { reason: 'bad-frames' })).toBeGreaterThanOrEqual(1);
    expect(prometheusSum(text, 'kedge_cloudhub_sessions_timed_out_total')).toBe(0);
    // the flooder got through no faster than its rate allows: 200 at once, then 100/s
    const upFromAll = prometheusSum(text, 'kedge_cloudhub_messages_total', { direction: 'up' });
    expect(upFromAll).toBeLessThan(200 + 100 * 120 + GOOD_EDGES * 200);
    await flooder.close();
  });
});
