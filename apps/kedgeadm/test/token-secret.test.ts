// `kedgeadm token --kubeconfig`: the CA comes from cloudcore's Secret in a real Kubernetes API, the
// embedded API server started in-process on a free loopback port.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
// the embedded API server is "the cluster"
import { startApiServer, type ApiServer } from '@kedge/apiserver';
import { loadOrCreateAuthority, verifyJoinToken } from '@kedge/pki';
import { SecretCertificateStore } from '@kedge/pki-secret';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KedgeadmUsageError, deleteTokenCommand, issueTokenCommand, listTokensCommand } from '../src/token-command';

let apiServer: ApiServer;
let dataDir: string;
let kubeConfig: KubeConfig;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kedgeadm-token-secret-'));
  apiServer = await startApiServer({ dataDir, port: 0 });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(apiServer.adminKubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (const name of ['kedge', 'edge-system']) await core.createNamespace({ body: { metadata: { name } } });
});

afterAll(async () => {
  await apiServer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('kedgeadm token --kubeconfig', () => {
  it('token secret - issues a token from the CA in the default Secret kedge/cloudcore-pki, ignoring the data dir', async () => {
    const ca = await loadOrCreateAuthority(new SecretCertificateStore({ kubeConfig, namespace: 'kedge', name: 'cloudcore-pki' }));
    const token = await issueTokenCommand({ dataDir: join(dataDir, 'no-cloudcore-here'), ttl: '1h', node: 'gateway-01', kubeconfig: apiServer.adminKubeconfigPath });
    const claims = verifyJoinToken(ca, token, { nodeName: 'gateway-01' });
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000);
    // registered in the Secret, beside the CA, where cloudcore's certificate server looks
    const store = { dataDir, kubeconfig: apiServer.adminKubeconfigPath };
    expect((await listTokensCommand(store)).map((record) => record.id)).toContain(claims.jti);
    await deleteTokenCommand({ ...store, id: claims.jti });
    expect((await listTokensCommand(store)).map((record) => record.id)).not.toContain(claims.jti);
  });

  it('token secret - --secret-namespace and --secret-name pick another Secret', async () => {
    const ca = await loadOrCreateAuthority(new SecretCertificateStore({ kubeConfig, namespace: 'edge-system', name: 'kedge-ca' }));
    const token = await issueTokenCommand({
      dataDir,
      ttl: '1h',
      node: 'gateway-02',
      kubeconfig: apiServer.adminKubeconfigPath,
      secretNamespace: 'edge-system',
      secretName: 'kedge-ca',
    });
    expect(verifyJoinToken(ca, token, { nodeName: 'gateway-02' }).node).toBe('gateway-02');
  });

  it('token secret - without the Secret it says to start cloudcore or run init, and creates nothing', async () => {
    const error = await issueTokenCommand({
      dataDir,
      ttl: '1h',
      node: 'gateway-01',
      kubeconfig: apiServer.adminKubeconfigPath,
      secretName: 'not-created-yet',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KedgeadmUsageError);
    expect((error as Error).message).toContain(`no CA in secret kedge/not-created-yet on ${apiServer.url}`);
    expect((error as Error).message).toContain('start cloudcore once');
    expect((error as Error).message).toContain(`kedgeadm init --kubeconfig ${apiServer.adminKubeconfigPath}`);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await expect(core.readNamespacedSecret({ name: 'not-created-yet', namespace: 'kedge' })).rejects.toMatchObject({ code: 404 });
  });

  it('token secret - an unreadable kubeconfig is a usage error naming the file', async () => {
    const missing = join(dataDir, 'missing.kubeconfig');
    const error = await issueTokenCommand({ dataDir, ttl: '1h', node: 'gateway-01', kubeconfig: missing }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KedgeadmUsageError);
    expect((error as Error).message).toMatch(new RegExp(`^--kubeconfig ${missing}: cannot be read as a kubeconfig`));
  });
});
