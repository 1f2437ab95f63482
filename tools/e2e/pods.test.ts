// Pods end to end with the real processes: cloudcore (embedded API server, EdgeController) and edgecore
// (MetaManager, edged) on a PRIVATE containerd (libs/testing/containerd-fixture); pods applied and deleted with the real
// kubectl, their status read back from the API server.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
import { isNodeConnected, issueToken, startCloudCore, startEdgeCore, type CloudCoreHandle, type EdgeCoreHandle } from './cluster';
import { kubectl, kubectlOk, stopAll, waitFor } from './harness';

const needs = await requires(...PRIVATE_CONTAINERD_NEEDS, 'kubectl');
const NODE = 'edge-pods';
const LOOP = 'while true; do sleep 1 & wait $!; done';

needs.describe('pods - cloudcore, edgecore and containerd processes', () => {
  let dir: string;
  let markerDir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle;
  let edge: EdgeCoreHandle;
  const admin = (): { kubeconfig: string } => ({ kubeconfig: cloud.kubeconfig });
  const jsonpath = async (pod: string, path: string): Promise<string> => {
    const result = await kubectl(admin(), ['get', 'pod', pod, '-o', `jsonpath={${path}}`]);
    return result.code === 0 ? result.stdout : '';
  };

  beforeAll(async () => {
    // short: containerd's socket path must fit in 108 bytes
    dir = await mkdtemp(join(tmpdir(), 'kpe-'));
    markerDir = join(dir, 'markers');
    // own subnet and bridge: other suites may run a private containerd at the same time
    containerd = await startPrivateContainerd(join(dir, 'ctd'), { podSubnet: '10.88.212.0/24', bridgeName: 'kedge-cni-pe' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    cloud = await startCloudCore();
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir);
    edge = startEdgeCore(cloud, {
      nodeName: NODE,
      token: await issueToken(cloud, ['--node', NODE]),
      dataDir: edgeDir,
      // the web pod's TERM marker is a hostPath: allowed below this dir only
      edged: { containerRuntimeEndpoint: `unix://${containerd.socketPath}`, restartBackoffBaseMs: 200, podSecurity: { allowedHostPaths: [markerDir] } },
    });
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
    await waitFor(async () => (await kubectl(admin(), ['get', 'node', NODE])).code === 0, 'the node registered', { intervalMs: 200 });
    // the crashing pod starts now, so its restarts pile up while the other tests run
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: {name: crasher, namespace: default}
spec:
  nodeName: ${NODE}
  restartPolicy: Always
  containers:
  - {name: app, image: ${BUSYBOX_IMAGE}, imagePullPolicy: Never, command: [sh, -c, 'echo crashing; exit 3']}
`,
    );
  });

  afterAll(async () => {
    await stopAll();
    // removes every pod sandbox, then stops containerd by its pid
    const report = await containerd?.stop();
    // and the bridge the CNI plugin made for these pods leaves the host with them
    if (report !== undefined) expect(existsSync('/sys/class/net/kedge-cni-pe')).toBe(false);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a pod with a configMap volume and env from a secret: Running with a podIP and a ready container, values in its log', async () => {
    await kubectlOk(
      admin(),
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {interval.conf: "interval=5s"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: default}
stringData: {password: s3cr3t-pw}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  nodeName: ${NODE}
  terminationGracePeriodSeconds: 5
  volumes:
  - {name: conf, configMap: {name: settings}}
  - {name: markers, hostPath: {path: ${markerDir}}}
  containers:
  - name: app
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: Never
    command: [sh, -c]
    args: ['trap "echo bye > /markers/term; exit 0" TERM; cat /etc/app/interval.conf; echo; echo "password=$PASSWORD"; ${LOOP}']
    env:
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
    - {name: markers, mountPath: /markers}
`,
    );
    await waitFor(async () => (await jsonpath('web', '.status.phase')) === 'Running', 'web Running in the API server', { intervalMs: 200, timeoutMs: 30_000 });
    await waitFor(async () => (await jsonpath('web', '.status.containerStatuses[0].ready')) === 'true', 'web ready in the API server', { intervalMs: 200, timeoutMs: 15_000 });
    expect(await jsonpath('web', '.status.podIP')).toMatch(/^10\.88\.212\.\d+$/);
    expect(await jsonpath('web', '.status.containerStatuses[0].state.running.startedAt')).not.toBe('');
    const uid = await jsonpath('web', '.metadata.uid');
    const logFile = join(edge.dataDir, 'pods', uid, 'logs', 'app', '0.log');
    await waitFor(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('password='), 'the container log', { intervalMs: 200, timeoutMs: 10_000 });
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/ stdout F interval=5s$/m);
    expect(log).toMatch(/ stdout F password=s3cr3t-pw$/m);
  });

  it('kubectl delete --grace-period=5 sends SIGTERM to the container and the pod leaves the API server once stopped', async () => {
    await kubectlOk(admin(), ['delete', 'pod', 'web', '--grace-period=5', '--wait=false']);
    const marker = join(markerDir, 'term');
    await waitFor(() => existsSync(marker), 'the TERM trap marker', { intervalMs: 200, timeoutMs: 10_000 });
    expect(readFileSync(marker, 'utf8')).toBe('bye\n');
    await waitFor(
      async () => {
        const result = await kubectl(admin(), ['get', 'pod', 'web']);
        return result.code !== 0 && /NotFound|not found/.test(result.stderr);
      },
      'web gone from the API server',
      { intervalMs: 200, timeoutMs: 15_000 },
    );
  });

  it("a crashing container's restartCount climbs in the API server", async () => {
    let first = -1;
    await waitFor(
      async () => {
        first = Number((await jsonpath('crasher', '.status.containerStatuses[0].restartCount')) || -1);
        return first >= 1;
      },
      'crasher restarted once',
      { intervalMs: 200, timeoutMs: 20_000 },
    );
    await waitFor(async () => Number((await jsonpath('crasher', '.status.containerStatuses[0].restartCount')) || -1) > first, 'crasher restartCount climbing', {
      timeoutMs: 20_000,
    });
    expect(await jsonpath('crasher', '.status.containerStatuses[0].lastState.terminated.exitCode')).toBe('3');
  });
});
