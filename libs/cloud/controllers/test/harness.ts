// The integration harness: a real embedded API server on 127.0.0.1 port 0, the controllers against
// it through its admin kubeconfig, the real kubectl, and a few fake kubelets that report pods
// Running+Ready and confirm graceful deletes, the way edged would.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '@kedge/apiserver';
import { mergePatch } from '@kedge/kube-client';
import { createLogger, createMetricsRegistry } from '@kedge/telemetry';
import { waitFor } from '@kedge/testkit';
import type { Registry } from 'prom-client';
import { startWorkloadControllers, type StartWorkloadControllersParams, type WorkloadControllers } from '../src/index';

export const KUBECTL = '/usr/bin/kubectl';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PodView {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: Array<{ kind: string; name: string }> };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> };
}

export class WorkloadTestCluster {
  readonly core: CoreV1Api;
  /** nodes whose fake kubelet is "disconnected": their pods keep their last status, deletes are not confirmed */
  readonly silentNodes = new Set<string>();
  private kubeletTimer: NodeJS.Timeout | undefined;
  private kubeletPass: Promise<void> | undefined;

  private constructor(
    readonly server: ApiServer,
    readonly kubeConfig: KubeConfig,
    readonly registry: Registry,
    readonly controllers: WorkloadControllers,
    private readonly dataDir: string,
    private readonly cacheDir: string,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  static async start(options: Pick<StartWorkloadControllersParams, 'now' | 'jobPodFailureBackoff' | 'controllers'> = {}): Promise<WorkloadTestCluster> {
    const dataDir = await mkdtemp(join(tmpdir(), 'kedge-workloads-'));
    const cacheDir = await mkdtemp(join(tmpdir(), 'kedge-workloads-kubectl-'));
    const logger = createLogger({ name: 'workload-test', level: (process.env['TEST_LOG_LEVEL'] ?? 'silent') as 'silent' });
    const server = await startApiServer({ dataDir, port: 0, logger });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(server.adminKubeconfigPath);
    const registry = createMetricsRegistry();
    const controllers = startWorkloadControllers({ kubeConfig, logger, registry, queueBackoff: { baseDelayMs: 50, maxDelayMs: 2_000 }, ...options });
    await controllers.ready;
    return new WorkloadTestCluster(server, kubeConfig, registry, controllers, dataDir, cacheDir);
  }

  kubectl(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        KUBECTL,
        ['--kubeconfig', this.server.adminKubeconfigPath, '--cache-dir', this.cacheDir, ...args],
        { timeout: options.timeoutMs ?? 30_000, env: { ...process.env, HOME: this.cacheDir } },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') reject(new Error(`kubectl ${args.join(' ')} failed to run: ${error.message}\n${stderr}`));
          else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  }

  /** kubectl that must succeed; returns stdout. */
  async run(args: readonly string[], input?: string): Promise<string> {
    const result = await this.kubectl(args, input === undefined ? {} : { input });
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  /** A Node applied with kubectl, then marked Ready through /status as a kubelet would. */
  async addNode(name: string, options: { labels?: Record<string, string>; taints?: Array<{ key: string; value?: string; effect: string }>; ready?: boolean } = {}): Promise<void> {
    const labels = Object.entries({ 'kubernetes.io/hostname': name, ...(options.labels ?? {}) })
      .map(([key, value]) => `    ${key}: "${value}"`)
      .join('\n');
    const taints = (options.taints ?? []).map((taint) => `  - key: ${taint.key}\n    value: "${taint.value ?? ''}"\n    effect: ${taint.effect}`).join('\n');
    await this.run(['apply', '-f', '-'], `apiVersion: v1\nkind: Node\nmetadata:\n  name: ${name}\n  labels:\n${labels}\n${taints === '' ? '' : `spec:\n  taints:\n${taints}\n`}`);
    if (options.ready !== false) await this.setNodeReady(name, 'True');
  }

  async setNodeReady(name: string, status: 'True' | 'False' | 'Unknown'): Promise<void> {
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = { type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown', lastHeartbeatTime: at, lastTransitionTime: at };
    await this.core.patchNodeStatus({ name, body: { status: { conditions: [condition], allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } } }, mergePatch());
  }

  async pods(selector: string, namespace = 'default'): Promise<PodView[]> {
    const list = JSON.parse(await this.run(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json'])) as { items: PodView[] };
    return list.items;
  }

  async getJson<T = Record<string, any>>(kind: string, name: string, namespace = 'default'): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    return JSON.parse(await this.run(['get', kind, name, '-n', namespace, '-o', 'json'])) as T;
  }

  /** What a kubelet reports when a pod's containers exit: phase Succeeded (all 0) or Failed, with the exit code. */
  async finishPod(name: string, exitCode: number, options: { namespace?: string; conditions?: Array<{ type: string; status: string; reason?: string }> } = {}): Promise<void> {
    const namespace = options.namespace ?? 'default';
    const pod = await this.core.readNamespacedPod({ name, namespace });
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const containerStatuses = (pod.spec?.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image,
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: at, finishedAt: at } },
    }));
    const conditions = [
      { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: at },
      ...(options.conditions ?? []).map((condition) => ({ ...condition, lastTransitionTime: at })),
    ];
    await this.core.patchNamespacedPodStatus({ name, namespace, body: { status: { phase: exitCode === 0 ? 'Succeeded' : 'Failed', conditions, containerStatuses } } }, mergePatch());
  }

  /** Fake kubelets: every pod bound to a node that is not silent becomes Running+Ready; graceful deletes are confirmed. */
  startKubelets(intervalMs = 100): void {
    const pass = async (): Promise<void> => {
      const pods = (await this.core.listPodForAllNamespaces()).items;
      for (const pod of pods) {
        const nodeName = pod.spec?.nodeName;
        const { name = '', namespace = 'default' } = pod.metadata ?? {};
        if (nodeName === undefined || nodeName === '' || this.silentNodes.has(nodeName)) continue;
        try {
          if (pod.metadata?.deletionTimestamp !== undefined) {
            await this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
          } else if (pod.status?.phase !== 'Running' && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
            const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
            const conditions = [
              ...(pod.status?.conditions ?? []).filter((condition) => condition.type !== 'Ready'),
              { type: 'Ready', status: 'True', lastTransitionTime: at },
            ];
            await this.core.patchNamespacedPodStatus({ name, namespace, body: { status: { phase: 'Running', conditions } } }, mergePatch());
          }
        } catch {
          // the pod changed or went meanwhile; the next pass sees it again
        }
      }
    };
    this.kubeletTimer = setInterval(() => {
      this.kubeletPass ??= pass().finally(() => (this.kubeletPass = undefined));
    }, intervalMs);
  }

  async waitForPods(selector: string, what: string, check: (pods: PodView[]) => boolean, timeoutMs = 60_000): Promise<PodView[]> {
    let last: PodView[] = [];
    await waitFor(
      async () => check((last = await this.pods(selector))),
      what,
      { timeoutMs, intervalMs: 200, onTimeout: () => JSON.stringify(last.map((pod) => ({ name: pod.metadata.name, node: pod.spec.nodeName, phase: pod.status?.phase, deleting: pod.metadata.deletionTimestamp })), null, 1) },
    );
    return last;
  }

  async close(): Promise<void> {
    if (this.kubeletTimer) clearInterval(this.kubeletTimer);
    await this.kubeletPass;
    await this.controllers.close();
    await this.server.close();
    await rm(this.dataDir, { recursive: true, force: true });
    await rm(this.cacheDir, { recursive: true, force: true });
  }
}

/** Pods that are not being deleted. */
export function live(pods: PodView[]): PodView[] {
  return pods.filter((pod) => pod.metadata.deletionTimestamp === undefined);
}
