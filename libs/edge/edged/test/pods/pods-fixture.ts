// Shared by the pod tests: a REAL private containerd (libs/testing/containerd-fixture) with the offline images, a real
// MetaStore filled with down messages shaped like edgecontroller's, and a fake StatusReporter that records
// what edged reports (the real outbox is tested in libs/edge/metamanager).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCri, type CriClient } from '@kedge/cri';
import { MetaStore } from '@kedge/metamanager';
import { newMessage, type Message } from '@kedge/protocol';
import { createLogger } from '@kedge/telemetry';
import { PodWorkers, type PodWorkersOptions } from '../../src/index';
import { importKedgeImages, PRIVATE_CONTAINERD_NEEDS, type PrivateContainerdOptions, readPid, startPrivateContainerd, stopPrivateContainerd } from '@kedge/containerd-fixture';
import { requires } from '@kedge/testkit';
export { BUSYBOX_IMAGE, PAUSE_IMAGE } from '@kedge/containerd-fixture';

/** The pod suites declare what a private containerd needs: they fail when it is missing, unless allowed to skip. */
export const privateContainerd = await requires(...PRIVATE_CONTAINERD_NEEDS);

export const NODE = 'edge-1';
export const logger = createLogger({ name: 'pods-test', level: process.env['KEDGE_TEST_LOG'] === '1' ? 'debug' : 'silent' });

export class RecordingReporter {
  readonly messages: Message[] = [];
  report(message: Message): number {
    this.messages.push(message);
    return this.messages.length;
  }
  /** The latest reported status of a pod. */
  status(name: string, namespace = 'default'): PodStatusView | undefined {
    for (let i = this.messages.length - 1; i >= 0; i -= 1) {
      const m = this.messages[i];
      if (m?.route.resource === `${namespace}/podstatus/${name}`) return (m.content as { status: PodStatusView }).status;
    }
    return undefined;
  }
  /** The Events reported about a pod. */
  events(name: string, namespace = 'default'): { reason: string; type: string; message: string }[] {
    return this.messages
      .filter((m) => m.route.resource.startsWith(`${namespace}/event/`))
      .map((m) => m.content as { involvedObject: { kind: string; name: string }; reason: string; type: string; message: string })
      .filter((event) => event.involvedObject.kind === 'Pod' && event.involvedObject.name === name);
  }
  statuses(name: string, namespace = 'default'): PodStatusView[] {
    return this.messages.filter((m) => m.route.resource === `${namespace}/podstatus/${name}`).map((m) => (m.content as { status: PodStatusView }).status);
  }
}

export interface ContainerStatusView {
  name: string;
  state: { running?: { startedAt: string }; waiting?: { reason: string; message?: string }; terminated?: { exitCode: number; reason: string } };
  lastState: { terminated?: { exitCode: number; finishedAt: string; startedAt: string | null } };
  ready: boolean;
  started: boolean;
  restartCount: number;
  containerID?: string;
  imageID: string;
}

export interface PodStatusView {
  phase: string;
  /** why edged refused the pod, e.g. PodSecurityRefused */
  reason?: string;
  message?: string;
  podIP?: string;
  hostIP: string;
  startTime?: string;
  conditions: { type: string; status: string }[];
  containerStatuses: ContainerStatusView[];
  initContainerStatuses?: ContainerStatusView[];
}

export interface PodsEnv {
  dir: string;
  socketPath: string;
  cri: CriClient;
  store: MetaStore;
  rv: () => string;
  apply(type: string, name: string, fields: Record<string, unknown>, operation?: string): void;
  /** extra: e.g. the pod security policy and metrics of the suite (default: hostNetwork and hostPaths under dir allowed) */
  newWorkers(reporter: RecordingReporter, extra?: Partial<PodWorkersOptions>): PodWorkers;
  /** containerd alone restarts (upgrade, crash): its pods' shims keep running */
  restartContainerdOnly(): Promise<void>;
  /** a gateway reboot: every pod and shim is gone, containerd's state dirs stay */
  reboot(): Promise<void>;
  stop(): Promise<void>;
}

/** containerd options: give each suite its own bridge and pod subnet, as suites run side by side. */
export async function startPodsEnv(containerdOptions: PrivateContainerdOptions = {}): Promise<PodsEnv> {
  // short: unix socket paths are limited to 108 bytes
  const dir = await mkdtemp(join(tmpdir(), 'kedge-pods-'));
  const containerd = await startPrivateContainerd(dir, containerdOptions);
  await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
  const cri = connectCri(containerd.socketPath, { timeoutMs: 15_000 });
  const store = new MetaStore({ file: join(dir, 'edgecore.db') });
  let version = 100;
  const rv = () => String((version += 1));
  return {
    dir,
    socketPath: containerd.socketPath,
    cri,
    store,
    rv,
    apply(type, name, fields, operation = 'insert') {
      const version = rv();
      const metadata = { name, namespace: 'default', uid: `uid-${name}`, ...(fields['metadata'] as object | undefined), resourceVersion: version };
      store.apply(
        newMessage({ source: 'edgecontroller', group: 'resource', operation, resource: `default/${type}/${name}`, content: { ...fields, metadata }, resourceVersion: version }),
      );
    },
    newWorkers(reporter, extra = {}) {
      return new PodWorkers({
        // the lifecycle suites run hostNetwork pods and hostPath markers under the suite's dir
        security: { allowHostNetwork: true, allowedHostPaths: [dir] },
        cri,
        store,
        reporter,
        logger,
        nodeName: NODE,
        podsDir: join(dir, 'pods'),
        hostIP: '127.0.0.1',
        restartBackoffBaseMs: 200,
        restartBackoffMaxMs: 3_000,
        syncIntervalMs: 200,
        gcIntervalMs: 1_000,
        ...extra,
      });
    },
    async restartContainerdOnly() {
      const pid = readPid(dir);
      if (pid === undefined) throw new Error('no containerd pid recorded');
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100; i += 1) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await startPrivateContainerd(dir, containerdOptions);
    },
    async reboot() {
      await stopPrivateContainerd(dir);
      await startPrivateContainerd(dir, containerdOptions);
    },
    async stop() {
      for (const sandbox of await cri.listPodSandbox().catch(() => [])) {
        await cri.stopPodSandbox(sandbox.id).catch(() => undefined);
        await cri.removePodSandbox(sandbox.id).catch(() => undefined);
      }
      cri.close();
      store.close();
      await stopPrivateContainerd(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function waitUntil<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
