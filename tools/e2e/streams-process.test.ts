// The same path with the real processes: cloudcore (embedded API server + cloudstream) and edgecore
// (edged pod workers + edgestream) on a private containerd; kubectl logs/exec on a pod edged started.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, importKedgeImages } from '../containerd/oci-image';
import { isContainerdAvailable, startPrivateContainerd, type PrivateContainerd } from '../containerd/private-containerd';
import { isNodeConnected, issueToken, startCloudCore, type CloudCoreHandle } from './cluster';
import { kubectl, kubectlOk, startApp, waitFor, writeYaml, type KedgeProcess } from './harness';

const availability = isContainerdAvailable();
const skipReason = availability.available ? undefined : availability.reason;
const NODE = 'edge-stream-proc';

describe.skipIf(skipReason !== undefined)(`streams - cloudcore and edgecore processes${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dir: string;
  let containerd: PrivateContainerd | undefined;
  let cloud: CloudCoreHandle | undefined;
  let edge: KedgeProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ksp-'));
    containerd = await startPrivateContainerd(join(dir, 'ctd'));
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    cloud = await startCloudCore();
    const token = await issueToken(cloud);
    const edgeDir = join(dir, 'edge');
    await mkdir(edgeDir, { recursive: true });
    const configFile = writeYaml(join(edgeDir, 'edgecore.yaml'), {
      nodeName: NODE,
      dataDir: edgeDir,
      edgeHub: {
        protocol: 'websocket',
        server: `127.0.0.1:${cloud.ports.websocket}`,
        httpServer: `https://127.0.0.1:${cloud.ports.https}`,
        heartbeatSeconds: 1,
        reconnect: { initialDelayMs: 100, maxDelayMs: 2_000 },
      },
      metrics: { address: '127.0.0.1', port: 0 },
      metaServer: { address: '127.0.0.1', port: 0 },
      eventBus: { internal: { address: '127.0.0.1', port: 0 } },
      edged: { enable: true, containerRuntimeEndpoint: `unix://${containerd.socketPath}`, podsDir: join(edgeDir, 'pods') },
      log: { level: 'debug' },
    });
    edge = startApp('edgecore', ['--config', configFile, '--token', token]);
    await cloud.process.waitForLog(isNodeConnected(NODE), 'the edge to connect');
  });
  afterAll(async () => {
    await edge?.stop();
    await cloud?.process.stop();
    await containerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('streams - logs and exec reach a pod that edged runs', async () => {
    const admin = { kubeconfig: cloud!.kubeconfig };
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'proc-pod', namespace: 'default' },
      spec: { nodeName: NODE, containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', 'echo from-edged; sleep 3600'] }] },
    };
    await kubectlOk(admin, ['create', '-f', '-'], JSON.stringify(pod));
    await waitFor(async () => (await kubectl(admin, ['logs', 'proc-pod'])).stdout.includes('from-edged'), 'the pod log through cloudcore', { timeoutMs: 90_000 });
    const exec = await kubectl(admin, ['exec', 'proc-pod', '--', 'sh', '-c', 'echo in-pod; exit 5']);
    expect(exec.stdout).toBe('in-pod\n');
    expect(exec.code).toBe(5);
  });
});
