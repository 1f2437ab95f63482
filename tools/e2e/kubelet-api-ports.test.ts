// End-to-end: an edge node's kubelet API port on real cloudcore and edgecore processes. The port is
// allocated when the node connects and written into its Node (with the edge's own addresses kept in an
// annotation), the same port comes back after a cloudcore restart, and deleting the Node closes it.
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { issueClientCertificate, type IssuedCertificate } from '@kedge/pki';
import { afterEach, describe, expect, it } from 'vitest';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore } from './cluster';
import { kubectl, kubectlOk, stopAll, waitFor } from './harness';

afterEach(stopAll);

interface EdgeNode {
  metadata: { annotations?: Record<string, string> };
  status: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } };
}

async function readNode(kubeconfig: string, name: string): Promise<EdgeNode | undefined> {
  const result = await kubectl({ kubeconfig }, ['get', 'node', name, '-o', 'json']);
  return result.code === 0 ? (JSON.parse(result.stdout) as EdgeNode) : undefined;
}

/** GET /healthz on a kubelet API port, or the dial error's code. */
function healthz(port: number, caPem: string, client: IssuedCertificate): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca: caPem, cert: client.certPem, key: client.keyPem, agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(`${response.statusCode ?? 0} ${body}`));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe('kubelet API ports', () => {
  it('a node gets its port when it connects, keeps it across a cloudcore restart, and loses it with its Node', async () => {
    const kubeletPortRangeStart = 20_000 + Math.floor(Math.random() * 40_000);
    const cloud = await startCloudCore({ kubeletPortRangeStart });
    const token = await issueToken(cloud, ['--node', 'gw-ports']);
    startEdgeCore(cloud, { nodeName: 'gw-ports', token, maxReconnectDelayMs: 1_000 });
    await cloud.process.waitForLog(isNodeConnected('gw-ports'), 'the edge session');

    let node: EdgeNode | undefined;
    await waitFor(
      async () => {
        node = await readNode(cloud.kubeconfig, 'gw-ports');
        return (node?.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0) > 0 && node?.metadata.annotations?.['kedge.io/edge-addresses'] !== undefined;
      },
      'the Node pointed at its kubelet API port',
      { timeoutMs: 30_000 },
    );
    const port = node?.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0;
    expect(port).toBeGreaterThanOrEqual(kubeletPortRangeStart);
    expect(node?.status.addresses).toEqual([
      { type: 'InternalIP', address: '127.0.0.1' },
    ]);
    const edgeAddresses = JSON.parse(node?.metadata.annotations?.['kedge.io/edge-addresses'] ?? '[]') as { type: string }[];
    expect(edgeAddresses.length).toBeGreaterThan(0);

    // the cloud CA's key is in the file store: an operator's client certificate for the node's kubelet API
    const pkiDir = join(cloud.dataDir, 'pki');
    const ca = { certPem: readFileSync(join(pkiDir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(pkiDir, 'ca.key'), 'utf8') };
    const operator = await issueClientCertificate(ca, { commonName: 'operator', organizations: ['system:masters'] });
    expect(await healthz(port, ca.certPem, operator)).toBe('200 ok');
    // the embedded API server's kubelet-client key is kept like the other PKI keys: owner only
    expect(statSync(join(pkiDir, 'kubelet-client.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(pkiDir, 'kubelet-client.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');

    // a restart: the edge comes back to the same port, which the Node already names
    await cloud.process.stop();
    const restarted = await startCloudCore({ dataDir: cloud.dataDir, ports: cloud.ports, kubeletPortRangeStart });
    await restarted.process.waitForLog(isNodeConnected('gw-ports'), 'the edge back', 30_000);
    await waitFor(async () => (await healthz(port, ca.certPem, operator)) === '200 ok', 'the same port serving the node again', { timeoutMs: 30_000 });
    expect((await readNode(restarted.kubeconfig, 'gw-ports'))?.status.daemonEndpoints?.kubeletEndpoint?.Port).toBe(port);

    // the Node is deleted: its port closes
    await kubectlOk({ kubeconfig: restarted.kubeconfig }, ['delete', 'node', 'gw-ports', '--wait=false']);
    await waitFor(async () => (await healthz(port, ca.certPem, operator)) === 'ECONNREFUSED', 'the port closed', { timeoutMs: 30_000 });
  });
});
