// End-to-end: real cloudcore and edgecore processes on loopback, joined with real tokens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchMetrics, kubectl, kubectlOk, metricValue, stopAll, waitFor } from './harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore } from './cluster';

afterEach(stopAll);

async function connectedNodes(metricsPort: number): Promise<number | undefined> {
  return metricValue(await fetchMetrics(metricsPort), 'kedge_cloudhub_connected_nodes');
}

describe.each(['websocket', 'quic', 'webtransport'] as const)('hub link over %s', (protocol) => {
  it('an edge joins with a token, connects and keeps its session alive with keepalives', async () => {
    const cloud = await startCloudCore({ quic: protocol === 'quic', webtransport: protocol === 'webtransport' });
    const token = await issueToken(cloud, ['--node', `gw-${protocol}`]);
    const edge = startEdgeCore(cloud, { nodeName: `gw-${protocol}`, token, protocol });
    const connected = await cloud.process.waitForLog(isNodeConnected(edge.nodeName), 'edge session');
    expect(connected.transport).toBe(protocol);
    await waitFor(async () => (await connectedNodes(cloud.ports.metrics)) === 1, 'connected_nodes = 1');
    await waitFor(
      async () => (metricValue(await fetchMetrics(cloud.ports.metrics), 'kedge_cloudhub_messages_total', { direction: 'up', operation: 'keepalive' }) ?? 0) >= 2,
      'two keepalives from the edge',
    );
    const sessions = (await (await fetch(`http://127.0.0.1:${cloud.ports.metrics}/debug/nodes`)).json()) as Array<Record<string, unknown>>;
    expect(sessions).toEqual([expect.objectContaining({ nodeName: edge.nodeName, transport: protocol })]);
    // the certificate the edge got carries its node identity
    const certificate = readFileSync(join(edge.dataDir, 'pki', 'node.crt'), 'utf8');
    expect(certificate).toContain('BEGIN CERTIFICATE');
  });
});

describe('hub link over webtransport - sync', () => {
  it('an edge over WebTransport becomes a Ready node and receives a configmap and its updates', async () => {
    const cloud = await startCloudCore({ webtransport: true });
    expect(cloud.ports.webtransport).toBeGreaterThan(0);
    const admin = { kubeconfig: cloud.kubeconfig };
    const edge = startEdgeCore(cloud, { nodeName: 'gw-wt', token: await issueToken(cloud, ['--node', 'gw-wt']), protocol: 'webtransport' });
    const connected = await cloud.process.waitForLog(isNodeConnected('gw-wt'), 'gw-wt session');
    expect(connected.transport).toBe('webtransport');
    await waitFor(
      async () => (await kubectl(admin, ['get', 'node', 'gw-wt', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True',
      'gw-wt Ready',
    );
    // a node receives the configmaps its pods use; the pod stays pending (edged is off here)
    await kubectlOk(admin, ['create', 'namespace', 'site']);
    await kubectlOk(
      admin,
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: site}
data: {greeting: hello}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: site}
spec:
  nodeName: gw-wt
  containers:
  - name: app
    image: localhost/kedge/busybox:1
    env:
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
`,
    );
    const ready = await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    const metaServer = { kubeconfig: String(ready.metaServerKubeconfig) };
    const greeting = async (): Promise<string> =>
      (await kubectl(metaServer, ['get', 'configmap', 'settings', '-n', 'site', '-o', 'jsonpath={.data.greeting}'])).stdout;
    await waitFor(async () => (await greeting()) === 'hello', 'the configmap at the edge MetaServer');
    await kubectlOk(admin, ['patch', 'configmap', 'settings', '-n', 'site', '--type=merge', '-p', '{"data":{"greeting":"changed"}}']);
    await waitFor(async () => (await greeting()) === 'changed', 'the update at the edge');
  });
});

describe('hub link - resilience', () => {
  it('after kill -9 of cloudcore and a restart, the edge reconnects by itself within its backoff bound', async () => {
    const maxReconnectDelayMs = 1_000;
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-restart']);
    const edge = startEdgeCore(cloud, { nodeName: 'gw-restart', token, maxReconnectDelayMs });
    await cloud.process.waitForLog(isNodeConnected('gw-restart'), 'first session');

    cloud.process.kill('SIGKILL');
    await cloud.process.waitForExit();
    await edge.process.waitForLog((l) => l.msg.startsWith('lost the link'), 'edge notices the loss');

    const restarted = await startCloudCore({ dataDir: cloud.dataDir, ports: cloud.ports });
    const readyAt = Date.now();
    // the edge is dialing with backoff capped at 1 s: it must be back well within that bound plus a handshake
    await restarted.process.waitForLog(isNodeConnected('gw-restart'), 'session after restart', maxReconnectDelayMs + 15_000);
    expect(Date.now() - readyAt).toBeLessThan(maxReconnectDelayMs + 15_000);
    expect(edge.process.running).toBe(true);
    // same CA after restart: the edge reconnected with the certificate it already had, no new join
    expect(edge.process.logs.filter((l) => l.msg === 'node certificate obtained').length).toBe(1);
  });

  it('a second connection from the same node replaces the first session', async () => {
    const cloud = await startCloudCore();
    const token = await issueToken(cloud, ['--node', 'gw-twice']);
    const first = startEdgeCore(cloud, { nodeName: 'gw-twice', token });
    await cloud.process.waitForLog(isNodeConnected('gw-twice'), 'first session');
    // a second edgecore with the same identity (same data dir, so the same certificate) while the first runs
    const second = startEdgeCore(cloud, { nodeName: 'gw-twice', dataDir: first.dataDir });
    await waitFor(() => cloud.process.logs.filter(isNodeConnected('gw-twice')).length >= 2, 'second session', {
      onTimeout: () => second.process.describe(),
    });
    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricValue(metrics, 'kedge_cloudhub_sessions_replaced_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'kedge_cloudhub_connected_nodes')).toBe(1);
  });

  it('cloudcore drops a session that stays silent past the keepalive timeout', async () => {
    const cloud = await startCloudCore({ keepaliveTimeoutSeconds: 2 });
    const token = await issueToken(cloud, ['--node', 'gw-silent']);
    // heartbeat and lease renewal far above the timeout: after its first reports the edge goes silent
    const edge = startEdgeCore(cloud, { nodeName: 'gw-silent', token, heartbeatSeconds: 300, leaseRenewSeconds: 300 });
    await cloud.process.waitForLog(isNodeConnected('gw-silent'), 'session');
    await cloud.process.waitForLog((l) => l.msg.startsWith('node silent past the keepalive timeout'), 'timeout drop', 30_000);
    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricValue(metrics, 'kedge_cloudhub_sessions_timed_out_total')).toBeGreaterThanOrEqual(1);
    expect(edge.process.running).toBe(true);
  });
});
