// PodWorkers: one PodWorker per pod bound to this node in the local store. The store, not the cloud,
// is the source of truth, so pods keep running and come back while the cloud is unreachable. Also
// garbage-collects sandboxes edged created for pods that are no longer wanted.
import type { CriClient, PodSandboxSummary } from '@kedge/cri';
import type { ChangeEvent, MetaStore } from '@kedge/metamanager';
import type { Logger } from '@kedge/telemetry';
import type { StatusReporter } from '../node-status-reporter';
import { DEFAULT_BACKOFF } from './backoff';
import { MANAGED_LABEL, MANAGED_VALUE, POD_UID_LABEL } from './labels';
import { asPod, podKey, type Pod } from './pod-spec';
import { PodWorker, type PodApiAccess } from './pod-worker';
import { needsSync, runtimeFingerprints } from './runtime-relist';
import type { PodSecurityPolicy } from './pod-security';
import type { PodSecurityMetrics } from './pod-security-metrics';

export interface PodWorkersOptions {
  cri: CriClient;
  store: MetaStore;
  reporter: StatusReporter;
  logger: Logger;
  nodeName: string;
  /** volumes and logs live under <podsDir>/<uid> */
  podsDir: string;
  hostIP: string;
  /** first restart back-off (kubelet: 10 s); doubles per restart up to restartBackoffMaxMs (5 min) */
  restartBackoffBaseMs?: number;
  restartBackoffMaxMs?: number;
  /** how often the runtime is relisted, and changed or unsettled pods synced (the kubelet's PLEG relists every 1 s) */
  syncIntervalMs?: number;
  /** how often a settled pod whose runtime state did not change is synced all the same (default 10 s) */
  resyncIntervalMs?: number;
  gcIntervalMs?: number;
  /** what pods may ask of this node (edgecore.yaml edged.podSecurity); default: no privileged, hostNetwork, hostPID/IPC or hostPath */
  security?: PodSecurityPolicy;
  /** kedge_edged_pod_security_refused_total */
  metrics?: PodSecurityMetrics;
  /** the Kubernetes API for pods (MetaServer's pod endpoint, its CA, the token manager); off without it */
  apiAccess?: PodApiAccess;
  /** how often projected ServiceAccount tokens are checked for refresh (default 30 s) */
  tokenRefreshIntervalMs?: number;
}

export class PodWorkers {
  private readonly workers = new Map<string, PodWorker>();
  /** every pod uid this instance has had a worker for: a uid seen before may still have a sandbox (being torn down) */
  private readonly seen = new Set<string>();
  /**
   * Pod uids the runtime held a sandbox for when this instance started (left by an earlier edgecore); undefined until
   * that first list succeeded. Only edged makes sandboxes for a pod uid, so a uid neither in it nor in `seen` has none.
   */
  private preexisting: Set<string> | undefined;
  /** per pod uid, its runtime fingerprint at the last relist */
  private readonly fingerprints = new Map<string, string>();
  private relisting = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private unwatch: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: PodWorkersOptions) {}

  /** Adopts or starts every bound pod in the store, then follows the store. */
  async start(): Promise<void> {
    const { store } = this.options;
    const revision = store.localRevision;
    for (const stored of store.list('pod')) this.upsert(stored.object);
    this.unwatch = store.watch('pod', undefined, revision, (event) => this.onChange(event));
    const listed = await this.gc();
    if (listed !== undefined) this.preexisting = new Set(listed.flatMap((sandbox) => sandbox.labels[POD_UID_LABEL] ?? []));
    this.every(this.options.syncIntervalMs ?? 1000, () => void this.relist());
    this.every(this.options.gcIntervalMs ?? 30_000, () => void this.gc());
    const tokens = this.options.apiAccess?.tokens;
    if (tokens !== undefined) this.every(this.options.tokenRefreshIntervalMs ?? 30_000, () => void tokens.refresh());
  }

  /**
   * Stops following the store and waits for running syncs. Leaves every container running: an
   * edgecore restart must not restart the pods.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.all([...this.workers.values()].map((w) => w.idle()));
  }

  /** Syncs every pod now and waits; for tests and shutdown paths that need a settled state. */
  async syncAll(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.kick()));
  }

  get podCount(): number {
    return this.workers.size;
  }

  /**
   * One relist of the runtime for every pod (runtime-relist.ts): syncs the pods whose sandboxes or containers
   * changed, those that are not settled, and those not synced for resyncIntervalMs.
   */
  async relist(): Promise<void> {
    if (this.relisting || this.stopped) return;
    this.relisting = true;
    try {
      const { cri } = this.options;
      const selector = { labelSelector: { [MANAGED_LABEL]: MANAGED_VALUE } };
      let current: Map<string, string> | undefined;
      try {
        const [sandboxes, containers] = await Promise.all([cri.listPodSandbox(selector), cri.listContainers(selector)]);
        current = runtimeFingerprints(sandboxes, containers);
      } catch {
        // the runtime is down or failing: every worker syncs, and each says why (once, not every second)
        current = undefined;
      }
      const now = Date.now();
      const resyncMs = this.options.resyncIntervalMs ?? 10_000;
      for (const [uid, worker] of this.workers) {
        // a running sync reads the runtime itself; what changed under it (often by its own hand) is compared at
        // the next relist, against the fingerprint from before the sync
        if (worker.syncing) continue;
        const fingerprint = current === undefined ? undefined : (current.get(uid) ?? '');
        const sync = needsSync(worker, fingerprint, this.fingerprints.get(uid), now, resyncMs);
        if (fingerprint !== undefined) this.fingerprints.set(uid, fingerprint);
        else this.fingerprints.delete(uid);
        if (sync) void worker.kick();
      }
    } finally {
      this.relisting = false;
    }
  }

  private onChange(event: ChangeEvent): void {
    if (this.stopped) return;
    if (event.type === 'DELETED') {
      const uid = event.object.object.metadata.uid;
      if (uid !== undefined) this.forget(uid);
      return;
    }
    this.upsert(event.object.object);
  }

  private upsert(object: ChangeEvent['object']['object']): void {
    const pod: Pod | undefined = asPod(object);
    if (!pod) return;
    if (pod.spec.nodeName !== this.options.nodeName) {
      // rebound elsewhere or never ours: make sure nothing of it runs here
      this.forget(pod.metadata.uid);
      return;
    }
    let worker = this.workers.get(pod.metadata.uid);
    if (worker) {
      const before = worker.pod;
      worker.pod = pod;
      // the cloud sends the pod down again after each status patch edged caused: nothing to converge
      if (!runtimeRelevantChange(before, pod)) return;
    } else {
      worker = new PodWorker(pod, {
        cri: this.options.cri,
        store: this.options.store,
        reporter: this.options.reporter,
        logger: this.options.logger,
        podsDir: this.options.podsDir,
        nodeName: this.options.nodeName,
        hostIP: this.options.hostIP,
        backoff: { baseMs: this.options.restartBackoffBaseMs ?? DEFAULT_BACKOFF.baseMs, maxMs: this.options.restartBackoffMaxMs ?? DEFAULT_BACKOFF.maxMs },
        security: this.options.security ?? {},
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
        ...(this.options.apiAccess ? { apiAccess: this.options.apiAccess } : {}),
      }, { unseen: this.preexisting !== undefined && !this.preexisting.has(pod.metadata.uid) && !this.seen.has(pod.metadata.uid) });
      this.workers.set(pod.metadata.uid, worker);
      this.seen.add(pod.metadata.uid);
    }
    void worker.kick();
  }

  /** The pod left the store (deleted by the cloud, or force-deleted): tear it down without reporting. */
  private forget(uid: string): void {
    const worker = this.workers.get(uid);
    if (!worker) return;
    this.workers.delete(uid);
    this.fingerprints.delete(uid);
    if (worker.finished) return;
    void worker
      .idle()
      .then(() => worker.terminate(false))
      .catch((error: unknown) => this.options.logger.warn({ pod: podKey(worker.pod), error: String(error) }, 'could not remove a deleted pod; GC will retry'));
  }

  /**
   * Removes sandboxes edged made whose pod is not wanted any more (deleted while edgecore was down).
   * @returns the sandboxes it listed, undefined when the runtime could not be listed
   */
  async gc(): Promise<PodSandboxSummary[] | undefined> {
    const { cri, logger } = this.options;
    const problem = (error: unknown) => (error instanceof Error ? error.message : String(error));
    let sandboxes;
    try {
      sandboxes = await cri.listPodSandbox({ labelSelector: { [MANAGED_LABEL]: MANAGED_VALUE } });
    } catch (error) {
      logger.warn({ error: problem(error) }, 'pod garbage collection could not list sandboxes; will retry');
      return undefined;
    }
    for (const sandbox of sandboxes) {
      const uid = sandbox.labels[POD_UID_LABEL];
      const worker = uid === undefined ? undefined : this.workers.get(uid);
      if (worker && !worker.finished) continue;
      const pod = `${sandbox.metadata.namespace}/${sandbox.metadata.name}`;
      // one sandbox that cannot go (busy, already being removed) must not keep the others
      try {
        await cri.stopPodSandbox(sandbox.id);
        await cri.removePodSandbox(sandbox.id);
        logger.info({ sandboxId: sandbox.id, pod }, 'removed the sandbox of a pod that is no longer wanted');
      } catch (error) {
        logger.warn({ sandboxId: sandbox.id, pod, error: problem(error) }, 'could not remove an unwanted sandbox; will retry');
      }
    }
    return sandboxes;
  }

  private every(ms: number, task: () => void): void {
    const timer = setInterval(task, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

/**
 * Whether a pod update may change what runs: anything but its status and the bookkeeping the API server
 * keeps (resourceVersion, managedFields) counts, so spec changes, deletion and labels or annotations (the
 * downward API) still wake the worker.
 */
export function runtimeRelevantChange(before: Pod, after: Pod): boolean {
  const essence = (pod: Pod): string => {
    const { resourceVersion: _version, managedFields: _fields, ...metadata } = pod.metadata as Pod['metadata'] & { resourceVersion?: unknown; managedFields?: unknown };
    return JSON.stringify([metadata, pod.spec]);
  };
  return essence(before) !== essence(after);
}
