// cloudcore against a cluster keeps its CA, serving certificate and token ledger in a Secret: the
// pod's disk (here: the data dir) can vanish, and after a kill -9 and a restart on an empty data dir
// the joined edge still reconnects with its old certificate and a used token stays used.
// "The cluster" is an embedded API server started by this test, apart from cloudcore.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer } from '@kedge/apiserver';
import { createLogger } from '@kedge/telemetry';
import { Cleanup } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { isNodeConnected, startCloudCore, startEdgeCore } from './cluster';
import { kubectlOk, runKedgeadm, stopAll, tempDir } from './harness';

const cleanup = new Cleanup();
afterEach(async () => {
  await stopAll();
  await cleanup.run();
});

const secretData = async (cluster: { kubeconfig: string }): Promise<Record<string, string>> => {
  const secret = JSON.parse(await kubectlOk(cluster, ['get', 'secret', '-n', 'kedge', 'cloudcore-pki', '-o', 'json'])) as {
    type: string;
    data: Record<string, string>;
  };
  expect(secret.type).toBe('Opaque');
  return Object.fromEntries(Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
};

describe('cloudcore PKI in a Kubernetes Secret', () => {
  it('keeps the CA and the token ledger in the Secret across a kill -9 and a lost data dir', async () => {
    const api = await startApiServer({
      dataDir: tempDir('pki-cluster'),
      port: 0,
      logger: createLogger({ name: 'cluster', level: 'warn' }),
    });
    cleanup.add(() => api.close());
    const cluster = { kubeconfig: api.adminKubeconfigPath };
    await kubectlOk(cluster, ['create', 'namespace', 'kedge']);

    const dataDir = tempDir('pki-cloud');
    const cloud = await startCloudCore({ dataDir, kubeconfig: cluster.kubeconfig });
    expect(cloud.process.logs.find((l) => l.msg === 'certificate store chosen')).toMatchObject({
      store: 'secret',
      location: 'secret kedge/cloudcore-pki',
    });
    const stored = await secretData(cluster);
    // the revocation list holds cloudcore's node-certificate validity from the start (it bounds pruning)
    expect(Object.keys(stored).sort()).toEqual(['ca.crt', 'ca.key', 'revoked-certificates.json', 'server.crt', 'server.key']);
    expect(existsSync(join(dataDir, 'pki'))).toBe(false);

    const issued = await runKedgeadm(['token', 'create', '--kubeconfig', cluster.kubeconfig, '--node', 'gw-secret']);
    expect(issued.code, issued.stderr).toBe(0);
    expect(issued.stderr).toMatch(/^join token \S+ for node "gw-secret", expires /);
    const token = issued.stdout.trim();
    const edge = startEdgeCore(cloud, { nodeName: 'gw-secret', token });
    await cloud.process.waitForLog(isNodeConnected('gw-secret'), 'the edge joined with the token from the Secret');
    const afterJoin = await secretData(cluster);
    expect(Object.keys(afterJoin).sort()).toEqual(['ca.crt', 'ca.key', 'join-tokens.json', 'revoked-certificates.json', 'server.crt', 'server.key']);
    const ledger = JSON.parse(afterJoin['join-tokens.json']!) as { version: number; tokens: Record<string, { uses: { nodeName: string }[] }> };
    expect(ledger.version).toBe(2);
    expect(Object.values(ledger.tokens).flatMap((record) => record.uses.map((use) => use.nodeName))).toEqual(['gw-secret']);

    // the pod dies hard and comes back with an empty disk, on the same ports the edge dials
    await cloud.process.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
    const edgeCertificate = readFileSync(join(edge.dataDir, 'pki', 'node.crt'), 'utf8');
    const restarted = await startCloudCore({ dataDir, kubeconfig: cluster.kubeconfig, ports: cloud.ports });
    expect(restarted.process.logs.some((l) => l.msg === 'created the secret that holds the certificate authority')).toBe(false);
    expect((await secretData(cluster))['ca.crt']).toBe(stored['ca.crt']);
    // the edge kept its certificate from the first CA; the restarted cloudcore accepts it
    await restarted.process.waitForLog(isNodeConnected('gw-secret'), 'the joined edge reconnected with its old certificate');
    expect(readFileSync(join(edge.dataDir, 'pki', 'node.crt'), 'utf8')).toBe(edgeCertificate);
    expect(restarted.process.logs.some((l) => l.msg === 'node certificate issued')).toBe(false);

    // the token already joined gw-secret; the ledger in the Secret survived the lost data dir
    const prefix = tempDir('pki-reuse');
    const reused = await runKedgeadm([
      'join', '--cloud', '127.0.0.1', '--https-port', String(restarted.ports.https), '--node-name', 'gw-second',
      '--token', token, '--prefix', prefix, '--data-dir', join(prefix, 'data'),
    ]);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toMatch(/WRONG_NODE.*"gw-secret"/);
  });

  it('kedgeadm token --kubeconfig says what to do while the Secret does not exist yet', async () => {
    const api = await startApiServer({
      dataDir: tempDir('pki-empty-cluster'),
      port: 0,
      logger: createLogger({ name: 'cluster', level: 'warn' }),
    });
    cleanup.add(() => api.close());
    const result = await runKedgeadm(['token', 'create', '--node', 'gw-1', '--kubeconfig', api.adminKubeconfigPath, '--secret-namespace', 'edge-system']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no CA in secret edge-system/cloudcore-pki');
    expect(result.stderr).toContain('start cloudcore once');
    expect(result.stderr).toContain(`run kedgeadm init --kubeconfig ${api.adminKubeconfigPath}`);
  });
});
