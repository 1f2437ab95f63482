// In-cluster deployment: deploy/cloudcore manifests apply against the embedded API server, the
// ClusterRole grants exactly the API calls cloudcore makes (no more, no wildcards), and the edge
// gateway tarball built by tools/package runs from a plain extract.
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCri, type ContainerConfig, type PodSandboxConfig } from '@kedge/cri';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { importImageTar, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { buildCloudcoreImageTar } from '../package/cloudcore-image';
import { buildEdgecoreTarball } from '../package/edgecore-tarball';
import { kubectl, kubectlOk, repoRoot, stopAll, tempDir } from './harness';
import { startCloudCore } from './cluster';

afterEach(stopAll);

const manifestDir = join(repoRoot, 'deploy', 'cloudcore');

interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

function loadManifests(): { file: string; doc: KubeDoc; text: string }[] {
  return readdirSync(manifestDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(manifestDir, file), 'utf8')).map((d) => {
        if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
        return { file, doc: d.toJS() as KubeDoc, text: d.toString() };
      }),
    );
}

const byKind = (kind: string): KubeDoc => {
  const found = loadManifests().find((m) => m.doc.kind === kind);
  if (!found) throw new Error(`no ${kind} in deploy/cloudcore`);
  return found.doc;
};

/**
 * Every Kubernetes API call cloudcore makes, from the code (group/resource/verb). The ClusterRole
 * may grant these and nothing else.
 */
const CLOUDCORE_API_CALLS: { group: string; resource: string; verb: string; resourceNames?: string[]; namespace?: string }[] = [
  // libs/cloud/pki-secret SecretCertificateStore (pki.store secret): read and update its one Secret, which
  // 04-pki-secret.yaml creates, so no create right
  { group: '', resource: 'secrets', verb: 'get', resourceNames: ['cloudcore-pki'], namespace: 'kedge' },
  { group: '', resource: 'secrets', verb: 'update', resourceNames: ['cloudcore-pki'], namespace: 'kedge' },
  // edgecontroller + node-lifecycle informers: makeInformer('/api/v1/nodes', edge role label)
  { group: '', resource: 'nodes', verb: 'list' },
  { group: '', resource: 'nodes', verb: 'watch' },
  // certificate server: does a join's node name exist (NODE_EXISTS); edgecontroller: is an upstream sender a registered edge node
  { group: '', resource: 'nodes', verb: 'get' },
  // kube-writes.registerNode: core.createNode for a newly joined node
  { group: '', resource: 'nodes', verb: 'create' },
  // node-lifecycle: core.patchNode (unreachable taints)
  { group: '', resource: 'nodes', verb: 'patch' },
  // kube-writes.patchNodeStatus (edge heartbeats), node-lifecycle Ready=Unknown: core.patchNodeStatus
  { group: '', resource: 'nodes/status', verb: 'patch' },
  // edgecontroller pods informer + node-lifecycle kubeJson.list('/api/v1/pods', spec.nodeName=...)
  { group: '', resource: 'pods', verb: 'list' },
  { group: '', resource: 'pods', verb: 'watch' },
  // kube-writes.readPod: core.readNamespacedPod before a status write
  { group: '', resource: 'pods', verb: 'get' },
  // kube-writes.deletePod (edge-confirmed deletion) and node-lifecycle eviction: deleteNamespacedPod
  { group: '', resource: 'pods', verb: 'delete' },
  // kube-writes.patchPodStatus: core.patchNamespacedPodStatus
  { group: '', resource: 'pods/status', verb: 'patch' },
  // kube-writes.requestServiceAccountToken: edge pods' projected tokens (own pods' own ServiceAccount only, pod-api.ts)
  { group: '', resource: 'serviceaccounts/token', verb: 'create' },
  // edgecontroller informers: configmaps/secrets referenced by edge pods
  { group: '', resource: 'configmaps', verb: 'list' },
  { group: '', resource: 'configmaps', verb: 'watch' },
  { group: '', resource: 'secrets', verb: 'list' },
  { group: '', resource: 'secrets', verb: 'watch' },
  // edgecontroller service sync informers (edgeController.syncServices)
  { group: '', resource: 'services', verb: 'list' },
  { group: '', resource: 'services', verb: 'watch' },
  { group: '', resource: 'endpoints', verb: 'list' },
  { group: '', resource: 'endpoints', verb: 'watch' },
  // kube-writes.createEvent: core.createNamespacedEvent (events reported by edges)
  { group: '', resource: 'events', verb: 'create' },
  // kube-writes lease create: core.createNamespace('kube-node-lease') when it is missing
  { group: '', resource: 'namespaces', verb: 'create' },
  // node-lifecycle leases informer (/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases)
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'list' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'watch' },
  // kube-writes.renewLease: createNamespacedLease / patchNamespacedLease
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'patch' },
  // devicecontroller CustomInformer: listClusterCustomObject + watch on devices and devicemodels
  { group: 'devices.kubeedge.io', resource: 'devices', verb: 'list' },
  { group: 'devices.kubeedge.io', resource: 'devices', verb: 'watch' },
  { group: 'devices.kubeedge.io', resource: 'devicemodels', verb: 'list' },
  { group: 'devices.kubeedge.io', resource: 'devicemodels', verb: 'watch' },
  // devicecontroller upstream: DeviceStatus patch, create on the first report, delete with its Device
  { group: 'devices.kubeedge.io', resource: 'devicestatuses', verb: 'create' },
  { group: 'devices.kubeedge.io', resource: 'devicestatuses', verb: 'patch' },
  { group: 'devices.kubeedge.io', resource: 'devicestatuses', verb: 'delete' },
  // devicecontroller upstream: patchNamespacedCustomObjectStatus (the Device.status mirror of twin reports)
  { group: 'devices.kubeedge.io', resource: 'devices/status', verb: 'patch' },
  // devicecontroller crds.ts: createCustomResourceDefinition when missing
  { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'create' },
  // devicecontroller crds.ts: readCustomResourceDefinition (exists? established?) and replace (older revision) of its three CRDs only
  ...(['get', 'update'] as const).map((verb) => ({
    group: 'apiextensions.k8s.io',
    resource: 'customresourcedefinitions',
    verb,
    resourceNames: ['devicemodels.devices.kubeedge.io', 'devices.devices.kubeedge.io', 'devicestatuses.devices.kubeedge.io'],
  })),
  // cloudstream's kubelet API (clusterAuthBackend): bearer tokens through TokenReview, every caller through SubjectAccessReview
  { group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' },
  { group: 'authorization.k8s.io', resource: 'subjectaccessreviews', verb: 'create' },
];

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

function run(command: string, args: string[], options: { cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('deploy/cloudcore manifests', () => {
  it('have the expected objects and structure', () => {
    const kinds = loadManifests().map((m) => m.doc.kind);
    expect(kinds.sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Namespace', 'Role', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount'].sort(),
    );
    for (const { doc } of loadManifests()) {
      expect(doc.apiVersion).toBeTruthy();
      expect(doc.metadata.name).toBeTruthy();
      if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(doc.kind)) expect(doc.metadata.namespace).toBe('kedge');
    }
    const deployment = byKind('Deployment') as unknown as {
      spec: { replicas: number; template: { spec: { serviceAccountName: string; containers: { image: string; livenessProbe: { httpGet: { path: string; port: string } }; readinessProbe: { httpGet: { path: string; port: string } }; ports: { name: string; containerPort: number; protocol: string }[] }[] } } };
    };
    expect(deployment.spec.replicas).toBe(1);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe('cloudcore');
    const [container] = pod.containers;
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expect(container!.image).toBe(`localhost/kedge/cloudcore:${version}`);
    expect(container!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    const config = byKind('ConfigMap') as unknown as { data: Record<string, string> };
    const cloudcoreYaml = parseAllDocuments(config.data['cloudcore.yaml']!)[0]!.toJS() as { metrics: { address: string; port: number } };
    expect(cloudcoreYaml.metrics.address).toBe('0.0.0.0');
    expect(container!.ports.find((p) => p.name === 'metrics')?.containerPort).toBe(cloudcoreYaml.metrics.port);
    const service = byKind('Service') as unknown as { spec: { ports: { port: number; protocol: string }[] } };
    expect(service.spec.ports.map((p) => `${p.port}/${p.protocol}`).sort()).toEqual(['10000/TCP', '10001/UDP', '10002/TCP']);
  });

  it('apply with kubectl --dry-run=server against the embedded API server, every object', async () => {
    const cloud = await startCloudCore();
    const target = { kubeconfig: cloud.kubeconfig };
    // the namespace really exists first, so namespaced objects can be dry-run created in it
    await kubectlOk(target, ['apply', '-f', join(manifestDir, '00-namespace.yaml')]);
    const dir = tempDir('deploy-docs');
    const checked: string[] = [];
    for (const [index, { doc, text }] of loadManifests().entries()) {
      const file = join(dir, `${index}.yaml`);
      writeFileSync(file, text);
      const label = `${doc.kind}/${doc.metadata.name}`;
      const result = await kubectl(target, ['apply', '--dry-run=server', '-f', file]);
      expect(result.stderr, label).toBe('');
      expect(result.code, label).toBe(0);
      expect(result.stdout, label).toMatch(/\(server dry run\)/);
      checked.push(label);
    }
    expect(checked).toHaveLength(loadManifests().length);
    // a dry run stores nothing
    expect((await kubectl(target, ['get', 'deployment', '-n', 'kedge', 'cloudcore'])).code).not.toBe(0);
  });

  it('the ClusterRole and the Role grant exactly the API calls cloudcore makes, without wildcards', () => {
    const key = (group: string, resource: string, verb: string, names: readonly string[], namespace: string | undefined): string =>
      `${namespace ?? '(cluster)'}|${group}|${resource}|${verb}|${[...names].sort().join(',')}`;
    const allowed = new Set(CLOUDCORE_API_CALLS.map((c) => key(c.group, c.resource, c.verb, c.resourceNames ?? [], c.namespace)));
    const granted = new Set<string>();
    const extra: string[] = [];
    const roles = loadManifests().filter((m) => m.doc.kind === 'ClusterRole' || m.doc.kind === 'Role');
    expect(roles.map((m) => m.doc.kind).sort()).toEqual(['ClusterRole', 'Role']);
    for (const { doc } of roles) {
      for (const rule of (doc as unknown as { rules: PolicyRule[] }).rules) {
        expect(rule.nonResourceURLs, 'nonResourceURLs').toBeUndefined();
        const values = [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...(rule.verbs ?? []), ...(rule.resourceNames ?? [])];
        for (const value of values) expect(value.includes('*'), `wildcard in ${JSON.stringify(rule)}`).toBe(false);
        expect(rule.apiGroups?.length && rule.resources?.length && rule.verbs?.length, `incomplete rule ${JSON.stringify(rule)}`).toBeTruthy();
        for (const group of rule.apiGroups!)
          for (const resource of rule.resources!)
            for (const verb of rule.verbs!) {
              const granting = key(group, resource, verb, rule.resourceNames ?? [], doc.kind === 'Role' ? doc.metadata.namespace : undefined);
              granted.add(granting);
              if (!allowed.has(granting)) extra.push(granting);
            }
      }
    }
    expect(extra, 'rules beyond the API calls cloudcore makes').toEqual([]);
    const missing = [...allowed].filter((k) => !granted.has(k));
    expect(missing, 'API calls cloudcore makes that the roles do not grant').toEqual([]);
    const subjects = [{ kind: 'ServiceAccount', name: 'cloudcore', namespace: 'kedge' }];
    const clusterBinding = byKind('ClusterRoleBinding') as unknown as { roleRef: { kind: string; name: string }; subjects: unknown[] };
    expect(clusterBinding.roleRef).toMatchObject({ kind: 'ClusterRole', name: byKind('ClusterRole').metadata.name });
    expect(clusterBinding.subjects).toEqual(subjects);
    const binding = byKind('RoleBinding') as unknown as { metadata: { namespace: string }; roleRef: { kind: string; name: string }; subjects: unknown[] };
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: byKind('Role').metadata.name });
    expect(binding.metadata.namespace).toBe(byKind('Role').metadata.namespace);
    expect(binding.subjects).toEqual(subjects);
  });
});

describe('edgecore gateway tarball', () => {
  it('builds, extracts and runs --help / --print-default-config, QUIC prebuild or not', async () => {
    const out = tempDir('tarball');
    const { file } = await buildEdgecoreTarball(out);
    expect(file).toMatch(/kedge-edgecore-[^/]+-linux-(x64|arm64)\.tar\.gz$/);
    const extract = join(out, 'x');
    mkdirSync(extract);
    expect((await run('tar', ['-xzf', file, '-C', extract])).code).toBe(0);
    const [top] = readdirSync(extract);
    const root = join(extract, top!);
    for (const path of ['bin/edgecore', 'lib/edgecore.mjs', 'systemd/edgecore.service', 'README.md', 'proto/cri-runtime-v1.proto', 'proto/dmi-v1beta1.proto']) {
      expect(readdirSync(join(root, path, '..'))).toContain(path.split('/').pop());
    }
    const help = await run(join(root, 'bin', 'edgecore'), ['--help']);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--print-default-config');
    const defaults = await run(join(root, 'bin', 'edgecore'), ['--print-default-config']);
    expect(defaults.code).toBe(0);
    expect(defaults.stdout).toMatch(/^nodeName: /m);
    // the shipped native module loads from the bundle's node_modules
    const sqlite = await run(process.execPath, ['--input-type=module', '-e', "import D from 'better-sqlite3'; new D(':memory:').close(); console.log('ok')"], { cwd: join(root, 'lib') });
    expect(sqlite.stdout.trim(), sqlite.stderr).toBe('ok');
    // QUIC is optional: without its platform prebuild the bundle still starts
    await run('sh', ['-c', `rm -rf "${join(root, 'lib', 'node_modules', '@matrixai')}"/quic-*`]);
    const noQuic = await run(join(root, 'bin', 'edgecore'), ['--help']);
    expect(noQuic.code).toBe(0);
  });
});

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

/** The securityContext of deploy/cloudcore/05-deployment.yaml, so the test runs the image exactly as the Deployment would. */
function deploymentSecurity() {
  const [document] = parseAllDocuments(readFileSync(join(repoRoot, 'deploy/cloudcore/05-deployment.yaml'), 'utf8'));
  const spec = document?.toJS().spec.template.spec;
  const pod = spec.securityContext;
  const container = spec.containers[0].securityContext;
  expect(pod.runAsNonRoot).toBe(true);
  expect(pod.runAsUser).toBeGreaterThan(0);
  return {
    runAsUser: pod.runAsUser as number,
    runAsGroup: pod.runAsGroup as number,
    readOnlyRootFilesystem: container.readOnlyRootFilesystem as boolean,
    allowPrivilegeEscalation: container.allowPrivilegeEscalation as boolean,
    dropCapabilities: container.capabilities.drop as string[],
  };
}

const privateContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS);

privateContainerd.describe('cloudcore OCI image', () => {
  it('builds offline, imports into a private containerd and serves /healthz as a CRI pod run as the Deployment runs it (uid 65532, read-only root, no capabilities)', async () => {
    // short: containerd's socket path must fit in 108 bytes
    const dir = mkdtempSync(join(tmpdir(), 'kdi-'));
    const ctd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.214.0/24', bridgeName: 'kedge-cni-dp' });
    const cri = connectCri(ctd.socketPath);
    try {
      const { file, image } = await buildCloudcoreImageTar(join(dir, 'out'));
      await importKedgeImages(ctd.socketPath, ctd.paths.imageCacheDir); // the pause (sandbox) image
      await importImageTar(ctd.socketPath, file);
      const [ws, https, api, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
      const configDir = join(dir, 'config');
      mkdirSync(configDir);
      writeFileSync(
        join(configDir, 'cloudcore.yaml'),
        [
          'dataDir: /var/lib/kedge/cloudcore',
          'cloudHub:',
          `  websocket: { address: 127.0.0.1, port: ${ws} }`,
          `  https: { address: 127.0.0.1, port: ${https} }`,
          `kubeAPI: { embedded: { address: 127.0.0.1, port: ${api} } }`,
          `metrics: { address: 0.0.0.0, port: ${metrics} }`,
          '',
        ].join('\n'),
      );
      const logs = join(dir, 'logs');
      mkdirSync(logs);
      // run it as the Deployment does: its securityContext, a writable data dir and /tmp, nothing else writable
      const security = deploymentSecurity();
      const dataDir = join(dir, 'data');
      const scratch = join(dir, 'tmp');
      for (const writable of [dataDir, scratch]) {
        mkdirSync(writable);
        chownSync(writable, security.runAsUser, security.runAsGroup);
      }
      const sandbox: PodSandboxConfig = {
        metadata: { name: 'cloudcore', uid: 'deploy-test-cloudcore', namespace: 'kedge', attempt: 0 },
        logDirectory: logs,
        linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'POD', ipc: 'POD' }, runAsUser: security.runAsUser, runAsGroup: security.runAsGroup } },
      };
      const podId = await cri.runPodSandbox(sandbox);
      const container: ContainerConfig = {
        metadata: { name: 'cloudcore' },
        image,
        mounts: [
          { containerPath: '/etc/kedge', hostPath: configDir, readonly: true },
          { containerPath: '/var/lib/kedge/cloudcore', hostPath: dataDir, readonly: false },
          { containerPath: '/tmp', hostPath: scratch, readonly: false },
        ],
        logPath: 'cloudcore.log',
        linux: {
          securityContext: {
            runAsUser: security.runAsUser,
            runAsGroup: security.runAsGroup,
            readonlyRootfs: security.readOnlyRootFilesystem,
            noNewPrivs: !security.allowPrivilegeEscalation,
            capabilities: { dropCapabilities: security.dropCapabilities },
            seccomp: { profileType: 'RuntimeDefault' },
            namespaceOptions: { network: 'NODE', pid: 'POD', ipc: 'POD' },
          },
        },
      };
      const containerId = await cri.createContainer(podId, container, sandbox);
      await cri.startContainer(containerId);
      const deadline = Date.now() + 30_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = await fetch(`http://127.0.0.1:${metrics}/healthz`).then((r) => r.status, () => 0);
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      const log = () => {
        try {
          return readFileSync(join(logs, 'cloudcore.log'), 'utf8').slice(-2000);
        } catch {
          return '(no log)';
        }
      };
      expect(status, log()).toBe(200);
      // the image's allocator is jemalloc (LD_PRELOAD in the image config): the process has it mapped
      const verbose = await cri.containerStatus(containerId, { verbose: true });
      const pid = (JSON.parse(verbose.info.info ?? '{}') as { pid?: number }).pid;
      expect(pid, JSON.stringify(verbose.info).slice(0, 500)).toBeGreaterThan(0);
      expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).toMatch(/libjemalloc\.so\.2/);
      // it wrote its state as the unprivileged user, and needed nothing else writable
      const written = readdirSync(dataDir);
      expect(written, log()).toContain('apiserver');
      expect(statSync(join(dataDir, 'apiserver')).uid).toBe(security.runAsUser);
      await cri.stopPodSandbox(podId);
      await cri.removePodSandbox(podId);
    } finally {
      cri.close();
      await ctd.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
