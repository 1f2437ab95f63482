// Threat suite: revoked node certificates. A stolen or retired gateway is revoked with
// `kedgeadm node revoke` or by deleting its Node; its certificate must stop working everywhere the
// cloud accepts it (the hub, live sessions included, and the certificate server's renewal), while
// the same node joined again with a fresh token works. Real cloudcore, edgecore and kedgeadm processes.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeKeyAndCsr } from '@kedge/pki';
import { SimulatedEdge } from '@kedge/testkit';
import { fetchMetrics, metricValue, runKedgeadm, stopAll, waitFor } from '../e2e/harness';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle } from '../e2e/cluster';

afterEach(stopAll);

function edgeTls(dataDir: string): { cert: string; key: string; ca: string } {
  const pki = join(dataDir, 'pki');
  return {
    cert: readFileSync(join(pki, 'node.crt'), 'utf8'),
    key: readFileSync(join(pki, 'node.key'), 'utf8'),
    ca: readFileSync(join(pki, 'ca.crt'), 'utf8'),
  };
}

const isNodeDisconnected = (nodeName: string) => (l: { msg: string; nodeName?: unknown }) => l.msg === 'node disconnected' && l.nodeName === nodeName;

async function joinedEdge(cloud: CloudCoreHandle, nodeName: string) {
  const edge = startEdgeCore(cloud, { nodeName, token: await issueToken(cloud, ['--node', nodeName]) });
  await cloud.process.waitForLog(isNodeConnected(nodeName), `${nodeName} session`);
  return edge;
}

/** A hand-made edge with a given certificate: resolves with why the hub closed it, or 'connected'. */
async function connectWith(cloud: CloudCoreHandle, nodeName: string, tls: { cert: string; key: string; ca: string }): Promise<string> {
  const edge = new SimulatedEdge({ nodeName, hubUrl: `wss://127.0.0.1:${cloud.ports.websocket}`, tls, requestTimeoutMs: 5_000 });
  try {
    await edge.connect();
    await edge.disconnect();
    return 'connected';
  } catch (error) {
    return (error as Error).message;
  }
}

/** POST /edge.crt with the node's current certificate as client certificate (a renewal). */
async function renewWith(cloud: CloudCoreHandle, nodeName: string, tls: { cert: string; key: string; ca: string }) {
  const { csrPem } = await createNodeKeyAndCsr(nodeName);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = httpsRequest(
      { host: '127.0.0.1', port: cloud.ports.https, path: '/edge.crt', method: 'POST', ...tls, headers: { NodeName: nodeName, 'Content-Type': 'application/x-pem-file' } },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(csrPem);
  });
}

describe('threat - certificate revocation', () => {
  it('attack - a revoked node keeping its live session, reconnecting or renewing with its certificate is refused', async () => {
    const cloud = await startCloudCore();
    const edge = await joinedEdge(cloud, 'gw-stolen');
    const stolen = edgeTls(edge.dataDir);
    expect(await renewWith(cloud, 'gw-stolen', stolen)).toMatchObject({ status: 200 }); // renewal works before

    const revoke = await runKedgeadm(['node', 'revoke', 'gw-stolen', '--data-dir', cloud.dataDir]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(revoke.stdout).toMatch(/kedgeadm token create --node gw-stolen/);
    const revokedAt = Date.now();
    // the live session goes within seconds (pki.revocationReloadSeconds is 2 by default)
    await cloud.process.waitForLog(isNodeDisconnected('gw-stolen'), 'the revoked session to be dropped', 8_000);
    expect(Date.now() - revokedAt).toBeLessThan(8_000);

    // a copy of the certificate cannot get back in, nor renew itself into a valid one
    expect(await connectWith(cloud, 'gw-stolen', stolen)).toMatch(/revoked/);
    const renewal = await renewWith(cloud, 'gw-stolen', stolen);
    expect(renewal.status).toBe(403);
    expect(JSON.parse(renewal.body)).toMatchObject({ error: 'CERTIFICATE_REVOKED', message: expect.stringMatching(/kedgeadm token/) });

    const metrics = await fetchMetrics(cloud.ports.metrics);
    expect(metricValue(metrics, 'kedge_cloudhub_sessions_dropped_total', { reason: 'certificate-revoked' })).toBe(1);
    expect(metricValue(metrics, 'kedge_cloudhub_refused_connections_total', { transport: 'websocket', reason: 'certificate-revoked' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'kedge_certificate_requests_total', { result: 'refused', reason: 'CERTIFICATE_REVOKED' })).toBe(1);
  });

  it('attack - deleting the Node revokes its certificate: the session is dropped and reconnecting is refused', async () => {
    const cloud = await startCloudCore();
    const edge = await joinedEdge(cloud, 'gw-retired');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cloud.kubeconfig);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await waitFor(() => core.readNode({ name: 'gw-retired' }).then(() => true, () => false), 'the edge to register its Node');

    await core.deleteNode({ name: 'gw-retired' });
    await cloud.process.waitForLog(isNodeDisconnected('gw-retired'), 'the deleted node to be dropped', 8_000);
    expect(await connectWith(cloud, 'gw-retired', edgeTls(edge.dataDir))).toMatch(/revoked/);
    const stored = JSON.parse(readFileSync(join(cloud.dataDir, 'pki', 'revoked-certificates.json'), 'utf8')) as {
      longestValidityDays: number;
      nodes: Record<string, { reason: string }>;
    };
    expect(stored.nodes['gw-retired']?.reason).toBe('node deleted');
    // cloudcore declared the validity it issues with, so records are pruned only once what they cover has expired
    expect(stored.longestValidityDays).toBe(365);
  });

  it('after kedgeadm node revoke, the node joined again with a fresh token works while the revoked copy stays out', async () => {
    const cloud = await startCloudCore();
    const first = await joinedEdge(cloud, 'gw-rejoin');
    const revoked = edgeTls(first.dataDir);
    const revoke = await runKedgeadm(['node', 'revoke', 'gw-rejoin', '--data-dir', cloud.dataDir]);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toMatch(/kubectl delete node gw-rejoin/);
    await cloud.process.waitForLog(isNodeDisconnected('gw-rejoin'), 'the revoked session to be dropped', 8_000);
    await first.process.stop('SIGKILL');
    // as the revoke output says: a join token never takes over an existing Node, so its Node goes first
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cloud.kubeconfig);
    await kubeConfig.makeApiClient(CoreV1Api).deleteNode({ name: 'gw-rejoin' });

    // right after the revocation, within seconds: the new certificate must fall outside it
    const again = startEdgeCore(cloud, { nodeName: 'gw-rejoin', token: await issueToken(cloud, ['--node', 'gw-rejoin']) });
    await waitFor(() => cloud.process.logs.filter(isNodeConnected('gw-rejoin')).length === 2, 'the node to connect again');
    const fresh = edgeTls(again.dataDir);
    expect(await renewWith(cloud, 'gw-rejoin', fresh)).toMatchObject({ status: 200 });
    // the old copy still cannot get in, and cannot displace the new session
    expect(await connectWith(cloud, 'gw-rejoin', revoked)).toMatch(/revoked/);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // two reloads of the list
    expect(cloud.process.logs.filter(isNodeDisconnected('gw-rejoin'))).toHaveLength(1);
  });
});
