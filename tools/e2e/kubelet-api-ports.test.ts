// End-to-end: an edge node's kubelet API port on real cloudcore and edgecore processes. The port is
// allocated once the connected node has its Node, and written into it (with the edge's own addresses kept in an
// annotation), the same port comes back after a cloudcore restart, and deleting the Node closes it.
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createNodeKeyAndCsr, issueClientCertificate, signNodeCsr, type IssuedCertificate } from '@kedge/pki';
import { dialWebSocketHub } from '@kedge/transport';
import { prometheusSample } from '@kedge/testkit';
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

async function nodePorts(metricsPort: number): Promise<number | undefined> {
  return prometheusSample(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), 'kedge_kubelet_api_node_ports');
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

  it('a link without an edge Node holds no kubelet API port; the port opens once its Node exists', async () => {
    const kubeletPortRangeStart = 20_000 + Math.floor(Math.random() * 40_000);
    // the first node to get a port gets the first of the range
    const cloud = await startCloudCore({ kubeletPortRangeStart });
    const pkiDir = join(cloud.dataDir, 'pki');
    const ca = { certPem: readFileSync(join(pkiDir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(pkiDir, 'ca.key'), 'utf8') };
    const operator = await issueClientCertificate(ca, { commonName: 'operator', organizations: ['system:masters'] });
    const { keyPem, csrPem } = await createNodeKeyAndCsr('gw-bare');
    const link = await dialWebSocketHub({
      url: `wss://127.0.0.1:${cloud.ports.websocket}`,
      tls: { cert: await signNodeCsr(ca, csrPem, { nodeName: 'gw-bare', validityDays: 1 }), key: keyPem, ca: ca.certPem },
      nodeName: 'gw-bare',
      handshakeTimeoutMs: 30_000,
    });
    try {
      await cloud.process.waitForLog(isNodeConnected('gw-bare'), 'the bare link');
      // a port used to be opened at connect; give cloudcore the time that took, then look
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(await nodePorts(cloud.ports.metrics)).toBe(0);
      expect(await healthz(kubeletPortRangeStart, ca.certPem, operator)).toBe('ECONNREFUSED');

      const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gw-bare', labels: { 'node-role.kubernetes.io/edge': '' } } };
      await kubectlOk({ kubeconfig: cloud.kubeconfig }, ['create', '-f', '-'], JSON.stringify(node));
      await waitFor(async () => (await healthz(kubeletPortRangeStart, ca.certPem, operator)) === '200 ok', 'the port opened for the Node', { timeoutMs: 30_000 });
      expect(await nodePorts(cloud.ports.metrics)).toBe(1);
      await waitFor(
        async () => (await readNode(cloud.kubeconfig, 'gw-bare'))?.status.daemonEndpoints?.kubeletEndpoint?.Port === kubeletPortRangeStart,
        'the Node pointed at its port',
        { timeoutMs: 30_000 },
      );
    } finally {
      await link.close('test over');
    }
  });
});
