// Edge pods reach the Kubernetes API, online and offline, with nothing but what a kubelet gives them: the
// real kubectl runs inside a pod on a private containerd, with in-cluster config and no flags
// (KUBERNETES_SERVICE_HOST/PORT from edged, the projected ServiceAccount token and ca.crt). Its
// ServiceAccount may get/list/watch pods and configmaps and create configmaps, not read secrets. The pod
// writes what kubectl printed to a hostPath directory the test reads; the test cuts the cloud link (a
// proxy between edgecore and cloudcore) between the pod's first two phases, and restarts edgecore while
// the link is still cut before the third: MetaServer then answers from the reviews it kept on disk.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTar, importImageTar, importKedgeImages, ociLayoutTar, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd, unmountUnder } from '@kedge/containerd-fixture';
import { freePort, requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle } from './cluster';
import { kubectl, kubectlOk, stopAll, waitFor } from './harness';
import { CuttableProxy } from './tcp-proxy';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-podapi';
const KUBECTL_IMAGE = 'localhost/kedge/kubectl:1';
// the static Go binary /usr/bin/kubectl links to
const KUBECTL_BINARY = '/usr/lib/google-cloud-sdk/bin/kubectl';

/** busybox (a few applets) and kubectl on one layer: the image the pod runs, built offline. */
async function kubectlImageTar(): Promise<Buffer> {
  const busybox = await readFile('/bin/busybox');
  const applets = ['sh', 'sleep', 'cat', 'echo', 'touch', 'env', 'ls'];
  const layer = createTar([
    ...['bin', 'dev', 'etc', 'proc', 'sys', 'tmp', 'root', 'var', 'usr', 'usr/local', 'usr/local/bin'].map((path) => ({ type: 'dir' as const, path })),
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    ...applets.map((applet) => ({ type: 'symlink' as const, path: `bin/${applet}`, target: 'busybox' })),
    { type: 'file', path: 'usr/local/bin/kubectl', data: await readFile(KUBECTL_BINARY), mode: 0o755 },
    { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n') },
  ]);
  return ociLayoutTar(layer, [{ name: KUBECTL_IMAGE, process: { Env: ['PATH=/usr/local/bin:/bin', 'HOME=/root'], Cmd: ['sh'] }, createdBy: 'kedge tools/e2e/pod-api.test.ts' }]);
}

// phase 1 online, phase 2 once the test has cut the link (it creates /out/offline), phase 3 once edgecore
// was restarted with the link still cut (/out/restarted)
const SCRIPT = `
cd /out
run() { name=$1; shift; "$@" > $name.out 2> $name.err; echo $? > $name.rc; }
env | grep ^KUBERNETES_ > env.out
run pods kubectl get pods -o name
kubectl get configmaps settings --watch -o 'jsonpath={.metadata.name}={.data.v}{"\\n"}' > watch.out 2> watch.err &
run secret kubectl get secret x
run create kubectl create configmap from-pod --from-literal=made=inside
touch online.done
while [ ! -e offline ]; do sleep 1; done
run pods-offline kubectl get pods -o name
run configmap-offline kubectl get configmap settings -o 'jsonpath={.data.v}'
run create-offline kubectl create configmap from-pod-offline --from-literal=made=offline -v=6
touch offline.done
while [ ! -e restarted ]; do sleep 1; done
run pods-restarted kubectl get pods -o name
run configmap-restarted kubectl get configmap settings -o 'jsonpath={.data.v}'
run secret-restarted kubectl get secret x
touch restarted.done
while true; do sleep 1; done
`;

needs.describe('pod API - kubectl inside an edge pod, in-cluster config, online and offline', () => {
  let dir: string;
  let out: string;
  let containerd: PrivateContainerd | undefined;
  let proxy: CuttableProxy | undefined;
  let cloud: CloudCoreHandle;
  let edge: EdgeCoreHandle;
  let startEdge: (token?: string) => Promise<EdgeCoreHandle>;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cloud.kubeconfig });
  const outFile = (name: string): string => (existsSync(join(out, name)) ? readFileSync(join(out, name), 'utf8') : '');
  const describeOut = (): string => ['env.out', 'pods.err', 'watch.err', 'secret.err', 'create.err', 'pods-offline.err', 'create-offline.err', 'pods-restarted.err', 'secret-restarted.err'].map((name) => `${name}: ${outFile(name).slice(0, 500)}`).join('\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kpa-'));
    out = join(dir, 'out');
    await mkdir(out, { mode: 0o777 });
    containerd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.215.0/24', bridgeName: 'kedge-cni-pa' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    const imageTar = join(dir, 'kubectl.oci.tar');
    await writeFile(imageTar, await kubectlImageTar());
    await importImageTar(containerd.socketPath, imageTar);
    cloud = await startCloudCore();
    proxy = await CuttableProxy.start(cloud.ports.websocket);
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir);
    const token = await issueToken(cloud, ['--node', NODE]);
    // pods keep the KUBERNETES_SERVICE_PORT they started with: the restarted edgecore listens on the same one
    const podPort = await freePort();
    const runtime = `unix://${containerd.socketPath}`;
    // a restart has its certificate in dataDir and joins nothing
    startEdge = async (joinToken?: string) =>
      startEdgeCore(cloud, { nodeName: NODE, ...(joinToken === undefined ? {} : { token: joinToken }), dataDir: edgeDir, hubPort: proxy?.port ?? 0, metaServerPodPort: podPort, edged: { containerRuntimeEndpoint: runtime, podSecurity: { allowedHostPaths: [out] } } });
    edge = await startEdge(token);
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
    await waitFor(async () => (await kubectl(admin(), ['get', 'node', NODE])).code === 0, 'the node registered', { intervalMs: 200 });
  }, 180_000);

  afterAll(async () => {
    await stopAll();
    await proxy?.close();
    await containerd?.stop();
    // edgecore was killed: the bind mounts of its pods' hostPath volumes are still there
    if (dir) await unmountUnder(dir);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists pods, watches a configmap change made in the cloud, is refused a secret (403) and creates a configmap; offline reads work and the create fails with a 503 Status; after an edgecore restart offline reads still work', async () => {
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: default}
rules:
- {apiGroups: [""], resources: [pods, configmaps], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [configmaps], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: default}
---
apiVersion: v1
kind: Secret
metadata: {name: x, namespace: default}
stringData: {password: not-for-the-pod}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {v: "1"}
---
apiVersion: v1
kind: Service
metadata: {name: meter-db, namespace: default}
spec:
  ports: [{name: sql, port: 5432}]
`,
    );
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec:
  nodeName: ${NODE}
  serviceAccountName: reader
  restartPolicy: Never
  containers:
  - name: kubectl
    image: ${KUBECTL_IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, ${JSON.stringify(SCRIPT)}]
    volumeMounts:
    - {name: out, mountPath: /out}
    - {name: settings, mountPath: /settings}
  volumes:
  - {name: out, hostPath: {path: ${out}, type: Directory}}
  - {name: settings, configMap: {name: settings}}
`,
    );
    // the ServiceAccount admission added the kube-api-access volume, as kube-apiserver does
    const volumes = await kubectlOk(admin(), ['get', 'pod', 'client', '-o', 'jsonpath={.spec.volumes[*].name}']);
    expect(volumes).toMatch(/kube-api-access-[a-z0-9]{5}/);

    await waitFor(() => existsSync(join(out, 'online.done')), 'the pod to finish its online phase', { timeoutMs: 120_000, intervalMs: 500, onTimeout: describeOut });
    // what edged gave it: MetaServer's pod endpoint as the API, and the Service links of its namespace
    const env = outFile('env.out');
    expect(env).toMatch(/^KUBERNETES_SERVICE_HOST=\d+\.\d+\.\d+\.\d+$/m);
    expect(env).toMatch(/^KUBERNETES_SERVICE_PORT_HTTPS=\d+$/m);
    expect(env).toMatch(/^KUBERNETES_PORT_\d+_TCP_PROTO=tcp$/m);
    expect(outFile('pods.rc').trim()).toBe('0');
    expect(outFile('pods.out')).toContain('pod/client');
    // RBAC decided in the cloud: no secrets for this ServiceAccount
    expect(outFile('secret.rc').trim()).not.toBe('0');
    expect(outFile('secret.err')).toMatch(/Forbidden.*cannot get resource "secrets"/);
    // the write went to the cloud with the pod's token
    expect(outFile('create.rc').trim(), describeOut()).toBe('0');
    expect(await kubectlOk(admin(), ['get', 'configmap', 'from-pod', '-o', 'jsonpath={.data.made}'])).toBe('inside');

    // a change made in the cloud reaches the pod's watch through the edge store
    await waitFor(() => outFile('watch.out').includes('settings=1'), 'the watch to list the configmap', { onTimeout: describeOut });
    await kubectlOk(admin(), ['patch', 'configmap', 'settings', '-p', '{"data":{"v":"2"}}']);
    await waitFor(() => outFile('watch.out').includes('settings=2'), 'the watch to see the change', { onTimeout: describeOut });

    proxy?.cutLink();
    await edge.process.waitForLog((line) => line.msg === 'lost the link to cloudcore; reconnecting with backoff', 'the edge to notice the cut', 60_000);
    await writeFile(join(out, 'offline'), '');
    await waitFor(() => existsSync(join(out, 'offline.done')), 'the pod to finish its offline phase', { timeoutMs: 120_000, intervalMs: 500, onTimeout: describeOut });
    // reads keep working from the edge store, with the token and decisions the cloud confirmed before
    expect(outFile('pods-offline.rc').trim(), describeOut()).toBe('0');
    expect(outFile('pods-offline.out')).toContain('pod/client');
    expect(outFile('configmap-offline.out')).toBe('2');
    // the write fails cleanly: a 503 Status naming the cloud link
    expect(outFile('create-offline.rc').trim()).not.toBe('0');
    expect(outFile('create-offline.err')).toMatch(/POST https:\/\/[^ ]+\/api\/v1\/namespaces\/default\/configmaps.* 503 Service Unavailable/);
    expect(outFile('create-offline.err')).toContain('the cloud link is down');

    // edgecore restarts with the link still cut: the pod's token and the decisions are remembered on disk
    await edge.process.stop('SIGTERM');
    edge = await startEdge();
    await edge.process.waitForLog((line) => line.msg === 'edgecore ready', 'edgecore ready offline', 90_000);
    await writeFile(join(out, 'restarted'), '');
    await waitFor(() => existsSync(join(out, 'restarted.done')), 'the pod to finish its phase after the restart', { timeoutMs: 120_000, intervalMs: 500, onTimeout: describeOut });
    expect(outFile('pods-restarted.rc').trim(), describeOut()).toBe('0');
    expect(outFile('pods-restarted.out')).toContain('pod/client');
    expect(outFile('configmap-restarted.out')).toBe('2');
    expect(outFile('secret-restarted.rc').trim()).not.toBe('0');
    expect(outFile('secret-restarted.err')).toMatch(/Forbidden.*cannot get resource "secrets"/);
    proxy?.restoreLink();
    await edge.process.waitForLog((line) => line.msg === 'connected to cloudcore', 'the edge to reconnect', 60_000);
    expect((await kubectl(admin(), ['get', 'configmap', 'from-pod-offline'])).code).not.toBe(0);
    // the pod goes, and with it its tokens on the gateway
    await kubectlOk(admin(), ['delete', 'pod', 'client', '--wait=true', '--timeout=90s']);
    await waitFor(() => readdirSync(join(edge.dataDir, 'pod-tokens')).length === 0, 'the pod tokens to be removed');
  }, 300_000);
});
