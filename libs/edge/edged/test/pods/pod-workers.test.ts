// edged's pods against a REAL containerd: volumes and env from the local store, status, restart back-off,
// liveness, image errors, adoption after an edgecore restart, recreation after a containerd restart, and
// graceful deletion. All pods run side by side in one containerd to keep the suite short.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { PodWorkers } from '../../src/index';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ContainerStatusView, PodsEnv } from './pods-fixture';
import { BUSYBOX_IMAGE, NODE, PAUSE_IMAGE, RecordingReporter, privateContainerd, startPodsEnv, waitUntil } from './pods-fixture';

const LOOP = 'while true; do sleep 1 & wait $!; done';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

privateContainerd.describe('edged - pods on containerd', () => {
  let env: PodsEnv;
  let workers: PodWorkers;
  let reporter: RecordingReporter;
  let markerDir: string;

  const container = (name: string, status: ReturnType<RecordingReporter['status']>): ContainerStatusView | undefined =>
    status?.containerStatuses.find((c) => c.name === name);

  beforeAll(async () => {
    env = await startPodsEnv();
    const httpPort = await freePort();
    markerDir = join(env.dir, 'markers');
    env.apply('configmap', 'settings', { data: { 'interval.conf': 'interval=5s\n' } });
    env.apply('secret', 'creds', { data: { password: Buffer.from('s3cr3t-pw').toString('base64') } });
    const spec = (fields: Record<string, unknown>) => ({ nodeName: NODE, terminationGracePeriodSeconds: 2, ...fields });
    env.apply('pod', 'web', {
      spec: spec({
        volumes: [
          { name: 'conf', configMap: { name: 'settings' } },
          { name: 'markers', hostPath: { path: markerDir } },
        ],
        containers: [
          {
            name: 'app',
            image: BUSYBOX_IMAGE,
            command: ['sh', '-c'],
            args: [`trap "echo bye > /markers/term; exit 0" TERM; cat /etc/app/interval.conf; echo "password=$PASSWORD pod=$POD_NAME ip=$POD_IP"; ${LOOP}`],
            env: [
              { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              // the pod IP is asked of the runtime before this container is made (other pods get it after theirs)
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            ],
            volumeMounts: [
              { name: 'conf', mountPath: '/etc/app' },
              { name: 'markers', mountPath: '/markers' },
            ],
            resources: { limits: { cpu: '500m', memory: '64Mi' } },
          },
        ],
      }),
    });
    env.apply('pod', 'hostnet', {
      spec: spec({
        hostNetwork: true,
        initContainers: [{ name: 'setup', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo init-done'] }],
        containers: [
          { name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', `touch /tmp/ready; ${LOOP}`], readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1 } },
          {
            name: 'http',
            image: BUSYBOX_IMAGE,
            command: ['sh', '-c', `mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 127.0.0.1:${httpPort} -h /www`],
            ports: [{ name: 'web', containerPort: httpPort }],
            readinessProbe: { httpGet: { path: '/index.html', port: 'web' }, periodSeconds: 1 },
            livenessProbe: { tcpSocket: { port: httpPort }, periodSeconds: 1 },
          },
        ],
      }),
    });
    env.apply('pod', 'crasher', { spec: spec({ hostNetwork: true, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', 'echo crash; exit 1'] }] }) });
    env.apply('pod', 'flaky', {
      spec: spec({
        hostNetwork: true,
        containers: [
          {
            name: 'app',
            image: BUSYBOX_IMAGE,
            command: ['sh', '-c', `trap "exit 0" TERM; touch /tmp/healthy; sleep 1; rm /tmp/healthy; ${LOOP}`],
            livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      }),
    });
    env.apply('pod', 'ghost', { spec: spec({ hostNetwork: true, containers: [{ name: 'app', image: 'registry.invalid/nothing:1' }] }) });
    env.apply('pod', 'elsewhere', { spec: { nodeName: 'other-node', containers: [{ name: 'app', image: BUSYBOX_IMAGE }] } });
    reporter = new RecordingReporter();
    workers = env.newWorkers(reporter);
    await workers.start();
  });

  afterAll(async () => {
    await workers?.stop();
    await env?.stop();
  });

  it('runs a pod with a configMap volume and env from a secret; status goes Running with podIP and a ready container', async () => {
    const status = await waitUntil(() => {
      const s = reporter.status('web');
      return s?.phase === 'Running' && container('app', s)?.ready ? s : undefined;
    }, 'web Running and ready');
    expect(status.podIP).toMatch(/^10\.88\.211\.\d+$/);
    expect(status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' }), expect.objectContaining({ type: 'Initialized', status: 'True' })]));
    const app = container('app', status);
    expect(app).toMatchObject({ ready: true, started: true, restartCount: 0, state: { running: {} } });
    expect(app?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(app?.imageID).toMatch(/^sha256:/);
    const logFile = join(env.dir, 'pods', 'uid-web', 'logs', 'app', '0.log');
    const log = await waitUntil(() => (existsSync(logFile) && readFileSync(logFile, 'utf8').includes('password=') ? readFileSync(logFile, 'utf8') : undefined), 'the web log');
    expect(log).toMatch(/ stdout F interval=5s$/m);
    expect(log).toContain(` stdout F password=s3cr3t-pw pod=web ip=${String(status.podIP)}\n`);
    expect(readFileSync(join(env.dir, 'pods', 'uid-web', 'volumes', 'conf', 'interval.conf'), 'utf8')).toBe('interval=5s\n');
    const runtime = await env.cri.containerStatus(app?.containerID?.replace('containerd://', '') ?? '');
    expect(runtime.resources).toMatchObject({ memoryLimitInBytes: 64 * 2 ** 20, cpuQuota: 50_000, cpuPeriod: 100_000 });
    expect(runtime.labels).toMatchObject({ 'io.kubernetes.pod.uid': 'uid-web', 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.container.name': 'app' });
    // the pod of another node is not run here
    expect(reporter.status('elsewhere')).toBeUndefined();
  });

  it('runs init containers first and reports readiness from the readiness probe on a hostNetwork pod', async () => {
    const status = await waitUntil(() => {
      const s = reporter.status('hostnet');
      return s?.phase === 'Running' && container('app', s)?.ready && container('http', s)?.ready ? s : undefined;
    }, 'hostnet ready');
    expect(container('http', status)?.restartCount).toBe(0);
    expect(status.podIP).toBe('127.0.0.1');
    expect(status.initContainerStatuses?.[0]).toMatchObject({ name: 'setup', state: { terminated: { exitCode: 0, reason: 'Completed' } } });
    // the app container was created only after the init container had finished (containerd's own timestamps)
    const idOf = (view: ContainerStatusView | undefined): string => view?.containerID?.replace('containerd://', '') ?? '';
    const setup = await env.cri.containerStatus(idOf(status.initContainerStatuses?.[0]));
    const app = await env.cri.containerStatus(idOf(container('app', status)));
    expect(setup.finishedAt).toBeGreaterThan(0n);
    expect(app.createdAt).toBeGreaterThanOrEqual(setup.finishedAt);
    // and no report ever showed an app container in a pod that was not initialized yet
    for (const report of reporter.statuses('hostnet')) {
      if (report.conditions.some((c) => c.type === 'Initialized' && c.status === 'False')) expect(container('app', report)?.containerID).toBeUndefined();
    }
  });

  it('restarts a crashing container with growing back-off and counts the restarts', async () => {
    const status = await waitUntil(() => {
      const s = reporter.status('crasher');
      return (container('app', s)?.restartCount ?? 0) >= 3 ? s : undefined;
    }, 'crasher restarted 3 times', 20_000);
    const seen = reporter.statuses('crasher').map((s) => container('app', s));
    expect(seen.some((c) => c?.state.waiting?.reason === 'CrashLoopBackOff')).toBe(true);
    expect(container('app', status)?.lastState.terminated?.exitCode).toBe(1);
    // each restart waits longer (200 ms base doubling): the CrashLoopBackOff messages name the growing delay
    // (a 200 ms window can fall between two syncs, so not every delay is seen)
    const delays = [...new Set(seen.map((c) => /back-off ([\d.]+)s/.exec(c?.state.waiting?.message ?? '')?.[1]).filter((d) => d !== undefined).map(Number))];
    expect(delays.length).toBeGreaterThanOrEqual(2);
    expect([...delays].sort((a, b) => a - b)).toEqual(delays);
    for (const delay of delays) expect([0.2, 0.4, 0.8, 1.6, 3]).toContain(delay);
  });

  it('restarts a container whose liveness probe fails', async () => {
    const status = await waitUntil(() => {
      const s = reporter.status('flaky');
      return (container('app', s)?.restartCount ?? 0) >= 1 ? s : undefined;
    }, 'flaky restarted', 20_000);
    expect(container('app', status)?.lastState.terminated).toBeDefined();
  });

  it('reports ErrImagePull with a clear message for an image that is not on the node', async () => {
    const app = await waitUntil(() => {
      const c = container('app', reporter.status('ghost'));
      return c?.state.waiting?.reason === 'ErrImagePull' ? c : undefined;
    }, 'ghost ErrImagePull', 30_000);
    expect(app.state.waiting?.message).toMatch(/registry\.invalid\/nothing:1.*import it with ctr/);
    expect(reporter.status('ghost')?.phase).toBe('Pending');
  });

  it('adopts running containers after an edgecore restart: same ids, same restart counts', async () => {
    const before = { web: container('app', reporter.status('web')), hostnet: container('app', reporter.status('hostnet')) };
    const crasherBefore = container('app', reporter.status('crasher'))?.restartCount ?? 0;
    await workers.stop();
    reporter = new RecordingReporter();
    workers = env.newWorkers(reporter);
    await workers.start();
    await workers.syncAll();
    for (const name of ['web', 'hostnet'] as const) {
      const after = await waitUntil(() => {
        const c = container('app', reporter.status(name));
        return c?.ready ? c : undefined;
      }, `${name} adopted`);
      expect(after.containerID).toBe(before[name]?.containerID);
      expect(after.restartCount).toBe(before[name]?.restartCount);
      expect(after.state.running?.startedAt).toBe(before[name]?.state.running?.startedAt);
    }
    // the restart count lives in the runtime (annotation), so it does not start over
    const crasherAfter = await waitUntil(() => container('app', reporter.status('crasher')), 'crasher status');
    expect(crasherAfter.restartCount).toBeGreaterThanOrEqual(crasherBefore);
  });

  it('recreates a container whose image changed, and leaves the other containers alone', async () => {
    const before = reporter.status('hostnet');
    const stored = env.store.get('pod', 'default', 'hostnet')?.object as unknown as { spec: { containers: { name: string; image: string }[] } } & Record<string, unknown>;
    const containers = stored.spec.containers.map((c) => (c.name === 'app' ? { ...c, image: PAUSE_IMAGE } : c));
    env.apply('pod', 'hostnet', { ...stored, spec: { ...stored.spec, containers } }, 'update');
    const app = await waitUntil(() => {
      const c = container('app', reporter.status('hostnet'));
      return c?.restartCount === 1 && c.ready ? c : undefined;
    }, 'app recreated with the new image');
    expect(app.imageID).not.toBe(container('app', before)?.imageID);
    expect(app.containerID).not.toBe(container('app', before)?.containerID);
    expect(container('http', reporter.status('hostnet'))?.containerID).toBe(container('http', before)?.containerID);
  });

  it('keeps the pods when containerd alone restarts, and goes on syncing once it answers again', async () => {
    const before = container('app', reporter.status('web'));
    const crasherBefore = container('app', reporter.status('crasher'))?.restartCount ?? 0;
    await env.restartContainerdOnly();
    const running = await waitUntil(async () => {
      const list = await env.cri.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-web' }, state: 'CONTAINER_RUNNING' }).catch(() => undefined);
      return list?.length === 1 ? list : undefined;
    }, 'containerd answering again');
    expect(`containerd://${running[0]?.id ?? ''}`).toBe(before?.containerID);
    // the workers go on: the crash-looping pod keeps being restarted through the new containerd
    await waitUntil(() => (container('app', reporter.status('crasher'))?.restartCount ?? 0) > crasherBefore, 'crasher restarted again', 20_000);
    const after = container('app', reporter.status('web'));
    expect(after?.containerID).toBe(before?.containerID);
    expect(after?.ready).toBe(true);
  });

  it('recreates the pods from local state after a gateway reboot (containerd and its pods gone)', async () => {
    const oldId = container('app', reporter.status('web'))?.containerID;
    await workers.stop();
    await env.reboot();
    reporter = new RecordingReporter();
    workers = env.newWorkers(reporter);
    await workers.start();
    const status = await waitUntil(() => {
      const s = reporter.status('web');
      const app = container('app', s);
      return s?.phase === 'Running' && app?.ready && app.containerID !== oldId ? s : undefined;
    }, 'web recreated', 30_000);
    expect(status.podIP).toMatch(/^10\.88\.211\.\d+$/);
    const sandboxes = await env.cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-web' } });
    expect(sandboxes.map((s) => s.state)).toEqual(['SANDBOX_READY']);
    // the log of the recreated container shows the values again
    const running = await env.cri.listContainers({ podSandboxId: sandboxes[0]?.id ?? '', state: 'CONTAINER_RUNNING' });
    expect(running.map((c) => `containerd://${c.id}`)).toEqual([container('app', status)?.containerID]);
  });

  it('deletes a pod gracefully: SIGTERM reaches the container, then the deletion is reported', async () => {
    const web = env.store.get('pod', 'default', 'web')?.object;
    env.apply('pod', 'web', { ...web, metadata: { ...web?.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 5 } }, 'update');
    const deletion = await waitUntil(() => reporter.messages.find((m) => m.route.operation === 'delete' && m.route.resource === 'default/pod/web'), 'delete report');
    expect(deletion).toBeDefined();
    expect(readFileSync(join(markerDir, 'term'), 'utf8')).toBe('bye\n');
    expect(await env.cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-web' } })).toEqual([]);
  });

  it('a pod that arrives while edged runs (its sandbox started with no runtime list before) runs in one sandbox and reports its IP and start time', async () => {
    env.apply('pod', 'late', { spec: { nodeName: NODE, terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: BUSYBOX_IMAGE, command: ['sh', '-c', LOOP] }] } });
    const status = await waitUntil(() => {
      const s = reporter.status('late');
      return s?.phase === 'Running' ? s : undefined;
    }, 'late Running');
    expect(status.podIP).toMatch(/^10\.88\.211\.\d+$/);
    const sandboxes = await env.cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': 'uid-late' } });
    expect(sandboxes.map((sandbox) => sandbox.state)).toEqual(['SANDBOX_READY']);
    expect(status.startTime).toBe(new Date(Number((sandboxes[0]?.createdAt ?? 0n) / 1_000_000n)).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  });

  it('removes the sandboxes of pods deleted from the store, live and while edgecore was down', async () => {
    env.apply('pod', 'hostnet', {}, 'delete');
    await waitUntil(async () => (await env.cri.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.name': 'hostnet' } })).length === 0, 'hostnet gone');
    await workers.stop();
    for (const name of ['web', 'crasher', 'flaky', 'ghost', 'late']) env.apply('pod', name, {}, 'delete');
    expect((await env.cri.listPodSandbox()).length).toBeGreaterThan(0);
    workers = env.newWorkers(new RecordingReporter());
    await workers.start();
    expect(await env.cri.listPodSandbox()).toEqual([]);
  });
});
