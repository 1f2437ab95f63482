// cloudcore "in a cluster": `kedgeadm init --kubeconfig` applies deploy/cloudcore to an existing
// cluster (an embedded API server started here, with RBAC and service-account tokens), and cloudcore,
// run with nothing but the cloudcore ServiceAccount's token, does its whole job (node registration,
// heartbeats and leases, pod and device sync, Device.status, its CA in the Secret) without a single
// 403. Then `kedgeadm reset` deletes exactly what init created.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApiServer } from '@kedge/apiserver';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, startPrivateContainerd } from '@kedge/containerd-fixture';
import { issueClientCertificate } from '@kedge/pki';
import { createLogger } from '@kedge/telemetry';
import { Cleanup, requires } from '@kedge/testkit';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { isNodeConnected, startCloudCore, startEdgeCore } from './cluster';
import { device, deviceModel, holdingRegister, manifestText, modbusTcp, reportedValue, startModbusServer } from './device-fixtures';
import { kubectl, kubectlOk, metricSum, runKedgeadm, stopAll, tempDir, waitFor } from './harness';

const withContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const cleanup = new Cleanup();
afterEach(async () => {
  await stopAll();
  await cleanup.run();
});

/** The admin kubeconfig with its user swapped for a bearer token: what a pod's service account sees. */
function tokenKubeconfig(adminKubeconfig: string, token: string, file: string): string {
  const config = parse(readFileSync(adminKubeconfig, 'utf8')) as { users: { name: string; user: Record<string, unknown> }[] };
  for (const user of config.users) user.user = { token };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('cloudcore deployed by kedgeadm init --kubeconfig', () => {
  it('runs as its ServiceAccount with exactly the manifests\' RBAC, and reset removes what init created', async () => {
    const registry = new Registry();
    const api = await startApiServer({
      dataDir: tempDir('incluster-api'),
      port: 0,
      logger: createLogger({ name: 'cluster', level: 'warn' }),
      metricsRegistry: registry,
    });
    cleanup.add(() => api.close());
    const admin = { kubeconfig: api.adminKubeconfigPath };

    // a namespace that exists before init: reset must leave it alone
    await kubectlOk(admin, ['create', 'namespace', 'plant-7']);
    const initDir = tempDir('incluster-init');
    const init = await runKedgeadm(['init', '--kubeconfig', admin.kubeconfig, '--data-dir', initDir, '--advertise-address', '127.0.0.1']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    for (const line of [
      'applied namespace/kedge (created)',
      'applied clusterrole/kedge-cloudcore (created)',
      'applied role/kedge-cloudcore-pki (namespace kedge) (created)',
      'applied deployment/cloudcore (namespace kedge) (created)',
      'cluster CA in secret kedge/cloudcore-pki',
    ]) {
      expect(init.stdout).toContain(line);
    }
    const deployment = JSON.parse(await kubectlOk(admin, ['get', 'deployment', '-n', 'kedge', 'cloudcore', '-o', 'json', '--show-managed-fields'])) as {
      metadata: { managedFields: { manager: string; operation: string }[] };
      spec: { replicas: number };
    };
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.metadata.managedFields).toEqual(expect.arrayContaining([expect.objectContaining({ manager: 'kedgeadm', operation: 'Apply' })]));
    const caBefore = await kubectlOk(admin, ['get', 'secret', '-n', 'kedge', 'cloudcore-pki', '-o', 'jsonpath={.data.ca\\.crt}']);
    expect(caBefore.length).toBeGreaterThan(100);
    // the advertise address went into the config the Deployment mounts
    expect(await kubectlOk(admin, ['get', 'configmap', '-n', 'kedge', 'cloudcore-config', '-o', 'jsonpath={.data.cloudcore\\.yaml}'])).toMatch(
      /advertiseAddresses:\s*\n?\s*-?\s*\[?"?127\.0\.0\.1/,
    );

    // cloudcore with the ServiceAccount's token only, as in its pod
    const saToken = (await kubectlOk(admin, ['create', 'token', 'cloudcore', '-n', 'kedge', '--duration', '1h'])).trim();
    const saKubeconfig = tokenKubeconfig(admin.kubeconfig, saToken, join(tempDir('incluster-sa'), 'cloudcore.kubeconfig'));
    const sa = { kubeconfig: saKubeconfig };
    // the roles are enforced: the one Secret cloudcore owns may be updated, no other, and nothing created
    const canI = async (...args: string[]): Promise<string> => (await kubectl(sa, ['auth', 'can-i', ...args])).stdout.trim();
    expect(await canI('update', 'secret/cloudcore-pki', '-n', 'kedge')).toBe('yes');
    expect(await canI('update', 'secret/other', '-n', 'kedge')).toBe('no');
    expect(await canI('create', 'secrets', '-n', 'plant-7')).toBe('no');
    expect((await kubectl(sa, ['auth', 'can-i', 'create', 'deployments', '-n', 'kedge'])).stdout.trim()).toBe('no');
    const forbiddenBefore = metricSum(await registry.metrics(), 'apiserver_request_total', { code: '403' });

    const cloud = await startCloudCore({ kubeconfig: saKubeconfig });
    expect(cloud.process.logs.find((l) => l.msg === 'certificate store chosen')).toMatchObject({ store: 'secret', location: 'secret kedge/cloudcore-pki' });
    // cloudcore used the CA init created, it did not mint another
    expect(await kubectlOk(admin, ['get', 'secret', '-n', 'kedge', 'cloudcore-pki', '-o', 'jsonpath={.data.ca\\.crt}'])).toBe(caBefore);

    const token = await runKedgeadm(['token', '--kubeconfig', admin.kubeconfig, '--node', 'gw-incluster']);
    expect(token.code, token.stderr).toBe(0);
    const edge = startEdgeCore(cloud, { nodeName: 'gw-incluster', token: token.stdout.trim() });
    await cloud.process.waitForLog(isNodeConnected('gw-incluster'), 'the edge joined cloudcore-in-the-cluster');
    await edge.process.waitForLog((l) => l.msg === 'edgecore ready', 'edgecore ready');
    // node registration, status and lease, all written by cloudcore as its ServiceAccount
    await waitFor(
      async () => (await kubectl(admin, ['get', 'node', 'gw-incluster', '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True',
      'node gw-incluster Ready',
      { timeoutMs: 30_000 },
    );
    await waitFor(async () => (await kubectl(admin, ['get', 'lease', '-n', 'kube-node-lease', 'gw-incluster'])).code === 0, 'node lease');

    // a pod with a configmap reaches the edge's MetaServer
    await kubectlOk(
      admin,
      ['apply', '-f', '-'],
      manifestText(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: 'plant-7' }, data: { mode: 'edge' } },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'app', namespace: 'plant-7' },
          spec: {
            nodeName: 'gw-incluster',
            containers: [{ name: 'app', image: 'busybox', envFrom: [{ configMapRef: { name: 'app-config' } }] }],
          },
        },
      ),
    );
    const ready = edge.process.logs.find((l) => l.msg === 'edgecore ready');
    const metaServer = { kubeconfig: String(ready?.metaServerKubeconfig) };
    await waitFor(async () => (await kubectl(metaServer, ['get', 'pod', 'app', '-n', 'plant-7'])).code === 0, 'pod app at the edge', { timeoutMs: 30_000 });
    await waitFor(async () => (await kubectl(metaServer, ['get', 'configmap', 'app-config', '-n', 'plant-7'])).code === 0, 'its configmap at the edge');

    // a Modbus device: membership to the edge, and its register value back into Device.status
    const modbus = await startModbusServer([417]);
    cleanup.add(() => modbus.close());
    await kubectlOk(
      admin,
      ['apply', '-f', '-'],
      manifestText(
        deviceModel('meter', 'modbus', [{ name: 'power', type: 'INT', accessMode: 'ReadOnly' }]),
        device('meter-1', 'meter', 'gw-incluster', {
          protocol: modbusTcp(modbus.port),
          properties: [{ name: 'power', collectCycle: 200, reportCycle: 200, visitors: holdingRegister(0, 'uint16') }],
        }),
      ),
    );
    await waitFor(async () => (await reportedValue(admin.kubeconfig, 'meter-1', 'power')) === '417', 'power 417 in Device.status', { timeoutMs: 30_000 });

    // everything above was allowed: not one request of cloudcore's was refused
    const forbidden = metricSum(await registry.metrics(), 'apiserver_request_total', { code: '403' }) - forbiddenBefore;
    expect(forbidden, 'requests refused with 403 while cloudcore ran as its ServiceAccount').toBe(0);
    // a 403 Status always says "forbidden"; matching "403" would also hit ports and uids
    expect(cloud.process.logs.filter((l) => /forbidden/i.test(JSON.stringify(l)))).toEqual([]);

    await cloud.process.stop();
    const reset = await runKedgeadm(['reset', '--prefix', initDir]);
    expect(reset.stderr).toBe('');
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain('removed clusterrole/kedge-cloudcore');
    expect(reset.stdout).toContain('removed namespace/kedge');
    expect((await kubectl(admin, ['get', 'clusterrole', 'kedge-cloudcore'])).code).not.toBe(0);
    expect((await kubectl(admin, ['get', 'clusterrolebinding', 'kedge-cloudcore'])).code).not.toBe(0);
    await waitFor(async () => (await kubectl(admin, ['get', 'namespace', 'kedge'])).code !== 0, 'namespace kedge deleted', { timeoutMs: 30_000 });
    // what was there before init stays
    expect((await kubectl(admin, ['get', 'namespace', 'plant-7'])).code).toBe(0);
  });

  withContainerd.it('kubectl logs and exec of an edge pod: the cluster\'s API server dials the Node, which points at cloudcore\'s kubelet API', async () => {
    const registry = new Registry();
    const apiDir = tempDir('incluster-streams-api');
    const api = await startApiServer({ dataDir: apiDir, port: 0, logger: createLogger({ name: 'cluster', level: 'warn' }), metricsRegistry: registry });
    cleanup.add(() => api.close());
    const admin = { kubeconfig: api.adminKubeconfigPath };
    const init = await runKedgeadm(['init', '--kubeconfig', admin.kubeconfig, '--data-dir', tempDir('incluster-streams-init'), '--advertise-address', '127.0.0.1']);
    expect(init.code, init.stderr).toBe(0);
    // the cluster's API server, as kubeadm sets one up: a kubelet-client certificate signed by the cluster CA
    // (the one in everyone's kubeconfig; --kubelet-client-certificate), and the cloud CA from the Secret to
    // verify kubelets (--kubelet-certificate-authority). cloudcore is not told about that CA: it trusts the
    // CA of its kubeconfig by default, as a kubelet's --client-ca-file is the cluster CA.
    const clusterCa = { certPem: readFileSync(join(apiDir, 'pki', 'ca.crt'), 'utf8'), keyPem: readFileSync(join(apiDir, 'pki', 'ca.key'), 'utf8') };
    expect(clusterCa.certPem).toBe(api.caCertPem);
    const kubeletClient = await issueClientCertificate(clusterCa, { commonName: 'kube-apiserver-kubelet-client', organizations: ['system:masters'] });
    const cloudCa = Buffer.from(await kubectlOk(admin, ['get', 'secret', '-n', 'kedge', 'cloudcore-pki', '-o', 'jsonpath={.data.ca\\.crt}']), 'base64').toString('utf8');
    api.configureKubeletClient({ clientCertPem: kubeletClient.certPem, clientKeyPem: kubeletClient.keyPem, caPem: cloudCa });

    const saToken = (await kubectlOk(admin, ['create', 'token', 'cloudcore', '-n', 'kedge', '--duration', '1h'])).trim();
    const saKubeconfig = tokenKubeconfig(admin.kubeconfig, saToken, join(tempDir('incluster-streams-sa'), 'cloudcore.kubeconfig'));
    const forbiddenBefore = metricSum(await registry.metrics(), 'apiserver_request_total', { code: '403' });
    const cloud = await startCloudCore({ kubeconfig: saKubeconfig });
    const containerd = await startPrivateContainerd(tempDir('incluster-streams-ctd'));
    cleanup.add(async () => {
      await containerd.stop();
    });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    const token = await runKedgeadm(['token', '--kubeconfig', admin.kubeconfig, '--node', 'gw-streams']);
    expect(token.code, token.stderr).toBe(0);
    startEdgeCore(cloud, { nodeName: 'gw-streams', token: token.stdout.trim(), edged: { containerRuntimeEndpoint: `unix://${containerd.socketPath}` } });
    await cloud.process.waitForLog(isNodeConnected('gw-streams'), 'the edge joined');

    // the Node points at cloudcore's kubelet API; what the edge reported is kept in an annotation
    let node: { metadata: { annotations?: Record<string, string> }; status: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } } | undefined;
    await waitFor(
      async () => {
        const read = await kubectl(admin, ['get', 'node', 'gw-streams', '-o', 'json']);
        if (read.code !== 0) return false;
        node = JSON.parse(read.stdout) as typeof node;
        return (node?.status.daemonEndpoints?.kubeletEndpoint?.Port ?? 0) > 0 && node?.metadata.annotations?.['kedge.io/edge-addresses'] !== undefined;
      },
      'the Node pointed at the kubelet API',
      { timeoutMs: 30_000 },
    );
    expect(node?.status.addresses).toEqual([
      { type: 'InternalIP', address: '127.0.0.1' },
    ]);

    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'talker', namespace: 'default' },
      spec: { nodeName: 'gw-streams', containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo hello-from-the-edge; sleep 3600'] }] },
    };
    await kubectlOk(admin, ['create', '-f', '-'], JSON.stringify(pod));
    await waitFor(async () => (await kubectl(admin, ['logs', 'talker'])).stdout.includes('hello-from-the-edge'), 'kubectl logs through the kubelet API', { timeoutMs: 90_000 });
    const exec = await kubectl(admin, ['exec', 'talker', '--', 'sh', '-c', 'echo in-the-pod; exit 5']);
    expect(exec.stdout).toBe('in-the-pod\n');
    expect(exec.code).toBe(5);
    // cloudcore's TokenReviews and SubjectAccessReviews (and everything else) were allowed by the manifests' RBAC
    expect(metricSum(await registry.metrics(), 'apiserver_request_total', { code: '403' }) - forbiddenBefore).toBe(0);
    await cloud.process.stop();
  });

  it('--cloudcore-on-host puts only the namespace and the CA Secret in the cluster and writes cloudcore.yaml here', async () => {
    const api = await startApiServer({ dataDir: tempDir('incluster-host'), port: 0, logger: createLogger({ name: 'cluster', level: 'warn' }) });
    cleanup.add(() => api.close());
    const admin = { kubeconfig: api.adminKubeconfigPath };
    const dataDir = tempDir('incluster-host-init');
    const init = await runKedgeadm(['init', '--kubeconfig', admin.kubeconfig, '--cloudcore-on-host', '--data-dir', dataDir, '--advertise-address', '10.0.0.5']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`cloudcore --config ${join(dataDir, 'cloudcore.yaml')}`);
    const config = parse(readFileSync(join(dataDir, 'cloudcore.yaml'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      cloudHub: { advertiseAddresses: ['10.0.0.5'] },
      kubeAPI: { kubeconfig: admin.kubeconfig },
      pki: { store: 'secret', secretNamespace: 'kedge', secretName: 'cloudcore-pki' },
    });
    expect(await kubectlOk(admin, ['get', 'secret', '-n', 'kedge', 'cloudcore-pki', '-o', 'jsonpath={.data.ca\\.key}'])).not.toBe('');
    expect((await kubectl(admin, ['get', 'deployment', '-n', 'kedge', 'cloudcore'])).code).not.toBe(0);
    expect((await kubectl(admin, ['get', 'clusterrole', 'kedge-cloudcore'])).code).not.toBe(0);
    // a second init on the same data dir is refused, pointing at reset
    const again = await runKedgeadm(['init', '--kubeconfig', admin.kubeconfig, '--cloudcore-on-host', '--data-dir', dataDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`kedgeadm reset --prefix ${dataDir}`);
    const reset = await runKedgeadm(['reset', '--prefix', dataDir]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toContain(`removed ${join(dataDir, 'cloudcore.yaml')}`);
    await waitFor(async () => (await kubectl(admin, ['get', 'namespace', 'kedge'])).code !== 0, 'namespace kedge deleted', { timeoutMs: 30_000 });
  });

  it('refuses with a clear message when the cluster credentials cannot create the RBAC objects', async () => {
    const api = await startApiServer({
      dataDir: tempDir('incluster-denied'),
      port: 0,
      logger: createLogger({ name: 'cluster', level: 'warn' }),
      tokens: [{ token: 'viewer-token-0123456789', user: 'viewer' }],
    });
    cleanup.add(() => api.close());
    const viewer = tokenKubeconfig(api.adminKubeconfigPath, 'viewer-token-0123456789', join(tempDir('incluster-viewer'), 'viewer.kubeconfig'));
    const initDir = tempDir('incluster-denied-init');
    const init = await runKedgeadm(['init', '--kubeconfig', viewer, '--data-dir', initDir]);
    expect(init.code).not.toBe(0);
    expect(init.stderr).toMatch(/answered 403/);
    expect(init.stderr).toContain('needs cluster-admin');
    // nothing was created, and the record says so: reset has nothing to delete in the cluster
    const reset = await runKedgeadm(['reset', '--prefix', initDir]);
    expect(reset.code).toBe(0);
    expect(reset.stdout).not.toMatch(/removed (namespace|clusterrole)/);
  });
});
