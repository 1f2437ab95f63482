// One pod's worker: converges the runtime to the pod spec on every sync, reading the truth from the
// runtime each time (labels, restart-count annotation), so a restarted edgecore adopts what runs
// instead of recreating it, and a restarted or rebooted containerd gets its pods back.
import { rmSync } from 'node:fs';
import type { ContainerStatus, CriClient, ImageInfo, PodSandboxConfig } from '@kedge/cri';
import type { MetaStore } from '@kedge/metamanager';
import { Group, Operation, newMessage } from '@kedge/protocol';
import type { Logger } from '@kedge/telemetry';
import type { StatusReporter } from '../node-status-reporter';
import { nextStartAtMs, restartDelayMs, type BackoffOptions } from './backoff';
import { podDir, prepareSubPaths, prepareVolumes, resolveEnv, tokenKey, volumeDir, type ApiAccessFiles, type FieldValues, type PreparedVolume } from './env-volumes';
import { serviceEnv } from './service-env';
import type { ServiceAccountTokens } from './service-account-tokens';
import { PodSetupError } from './errors';
import { CONTAINER_HASH_ANNOTATION, CONTAINER_NAME_LABEL, POD_UID_LABEL, restartCountOf } from './labels';
import { podKey, type ContainerSpec, type Pod, type RestartPolicy } from './pod-spec';
import { ProbeState, runProbe } from './probes';
import { admitEphemeralContainer, admitPod, type PodSecurityPolicy, type Refusal } from './pod-security';
import type { PodSecurityMetrics } from './pod-security-metrics';
import { unmountAll } from './safe-paths';
import { containerConfig, containerHash, sandboxConfig } from './sandbox';
import { podStatus, type ContainerView } from './status';

export const POD_WORKER_SOURCE = 'edged';

export interface PodWorkerDeps {
  cri: CriClient;
  store: MetaStore;
  reporter: StatusReporter;
  logger: Logger;
  podsDir: string;
  nodeName: string;
  hostIP: string;
  backoff: BackoffOptions;
  security: PodSecurityPolicy;
  metrics?: PodSecurityMetrics;
  /** the Kubernetes API pods on this node reach (MetaServer); without it pods get no token, CA or KUBERNETES_* variables */
  apiAccess?: PodApiAccess;
}

/** What edged gives pods so in-cluster clients work: where the API is, the CA it chains to, and their tokens. */
export interface PodApiAccess {
  /** MetaServer's pod-facing address and port: KUBERNETES_SERVICE_HOST/PORT */
  endpoint: { host: string; port: number };
  /** the CA MetaServer's serving certificate chains to: `ca.crt` of kube-root-ca.crt */
  caPem: string;
  tokens: ServiceAccountTokens;
}

/** The pod status reason (and container waiting reason) of a pod edged refused to run. */
export const POD_SECURITY_REFUSED = 'PodSecurityRefused';

interface SyncContext {
  sandboxId: string;
  sandboxConfig: PodSandboxConfig;
  fields: FieldValues;
  volumes?: Map<string, PreparedVolume>;
}

type Failure = { reason: string; message: string; retryAtMs: number; attempts: number };

/** Whether the spec hands the pod IP to a container (env or downward API fieldRef), so it is needed before they start. */
function usesPodIP(pod: Pod): boolean {
  return JSON.stringify(pod.spec).includes('"status.podIP"');
}

function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export class PodWorker {
  private inFlight: Promise<void> | undefined;
  private again = false;
  /** ImageStatus asked while the sandbox starts, for this sync only: by image reference */
  private readonly imageLookups = new Map<string, Promise<ImageInfo | undefined>>();
  /** the pod's ServiceAccount tokens (a TokenRequest through the cloud each) asked while the sandbox starts, for this sync only */
  private apiFilesLookup: Promise<ApiAccessFiles | undefined> | undefined;
  /** this sync changed the runtime after reading it (a liveness kill, an init container started): its view is stale */
  private staleView = false;
  /** set once the pod is gone from the runtime and (if asked) its deletion reported */
  finished = false;
  /** the last sync converged the pod and nothing in it waits for time to pass: the relist may skip it while the runtime holds still */
  settled = false;
  /** Date.now() when the last sync finished */
  lastSyncAt = 0;
  private readonly probes = new Map<string, ProbeState>();
  private readonly failures = new Map<string, Failure>();
  private lastReport = '';
  private lastError = '';
  private conditions: { type: string; status: 'True' | 'False'; lastTransitionTime: string }[] = [];
  /** refusals already logged, counted and sent as an Event: once per pod, not once per sync */
  private readonly refusalsSeen = new Set<string>();

  /**
   * The runtime cannot hold a sandbox of this pod yet: its uid reached edged while it ran, for the first time (not
   * adopted from the store at start). The first sync then starts the sandbox without listing the runtime first.
   */
  private unseen: boolean;

  constructor(
    public pod: Pod,
    private readonly deps: PodWorkerDeps,
    options: { unseen?: boolean } = {},
  ) {
    this.unseen = options.unseen ?? false;
  }

  /** Runs a sync now, or once more after the running one. Resolves when no sync is left to run. */
  kick(): Promise<void> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = (async () => {
      do {
        this.again = false;
        await this.syncOnce();
      } while (this.again);
    })().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Runs one more sync at once, and drops this one's report: what it read is no longer what runs. */
  private againWithStaleView(): void {
    this.again = true;
    this.staleView = true;
  }

  /** A sync is running now. */
  get syncing(): boolean {
    return this.inFlight !== undefined;
  }

  /** Waits for the running sync; used on shutdown so no CRI call outlives edgecore's close. */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async syncOnce(): Promise<void> {
    if (this.finished) return;
    this.settled = false;
    this.staleView = false;
    this.imageLookups.clear();
    this.apiFilesLookup = undefined;
    try {
      if (this.pod.metadata.deletionTimestamp) await this.terminate(true);
      else await this.syncRunning();
      this.lastError = '';
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // a down runtime fails every sync; say it once, not every second
      if (message !== this.lastError) this.deps.logger.warn({ pod: podKey(this.pod), error: message }, 'pod sync failed; will retry');
      this.lastError = message;
    }
    this.lastSyncAt = Date.now();
  }

  /** Stops the pod's containers with its grace period, removes its sandboxes, and reports the deletion. */
  async terminate(reportDeletion: boolean): Promise<void> {
    const { cri, logger } = this.deps;
    const pod = this.pod;
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const selector = { [POD_UID_LABEL]: pod.metadata.uid };
    const running = await cri.listContainers({ labelSelector: selector, state: 'CONTAINER_RUNNING' });
    await Promise.all(running.map((c) => cri.stopContainer(c.id, grace)));
    for (const sandbox of await cri.listPodSandbox({ labelSelector: selector })) {
      await cri.stopPodSandbox(sandbox.id);
      await cri.removePodSandbox(sandbox.id);
    }
    // the hostPath and subPath bind mounts first: removing the dir through one would delete what it shows
    const dir = podDir(this.deps.podsDir, pod);
    unmountAll(dir);
    rmSync(dir, { recursive: true, force: true });
    this.deps.apiAccess?.tokens.forget(pod.metadata.uid);
    if (reportDeletion) {
      this.deps.reporter.report(
        newMessage({ source: POD_WORKER_SOURCE, group: Group.Resource, operation: Operation.Delete, resource: `${pod.metadata.namespace}/pod/${pod.metadata.name}`, content: null }),
      );
    }
    // only now: if the outbox refused the report, the next sync tears down (idempotent) and reports again
    this.finished = true;
    logger.info({ pod: podKey(pod), gracePeriodSeconds: grace, stoppedContainers: running.length }, 'pod terminated');
  }

  /**
   * The pod's ready sandbox, started when there is none; `created` says it is new (so it holds no container yet).
   * For a new sandbox its status (IP, creation time) is asked beside the container starts rather than before
   * them: a call that queues behind other pods' starts on a busy runtime. `status` settles before the report.
   */
  private async ensureSandbox(): Promise<{ id: string; attempt: number; created: boolean; status: Promise<{ ip: string; createdAt: bigint }> }> {
    const { cri, logger } = this.deps;
    // a pod edged has never seen has nothing in the runtime; the list would only queue behind other pods' starts
    const sandboxes = this.unseen ? [] : await cri.listPodSandbox({ labelSelector: { [POD_UID_LABEL]: this.pod.metadata.uid } });
    this.unseen = false;
    const ready = sandboxes.filter((s) => s.state === 'SANDBOX_READY').sort((a, b) => (a.createdAt > b.createdAt ? -1 : 1));
    const keep = ready[0];
    // not-ready sandboxes are what a containerd restart or a reboot leaves: their containers are gone with them
    for (const stale of sandboxes.filter((s) => s !== keep)) {
      await cri.stopPodSandbox(stale.id);
      await cri.removePodSandbox(stale.id);
    }
    let id = keep?.id;
    const created = id === undefined;
    if (id === undefined) {
      const attempt = sandboxes.reduce((max, s) => Math.max(max, (s.metadata.attempt ?? 0) + 1), 0);
      // the images' status in parallel with the sandbox start, the longest call, instead of after it
      for (const container of [...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers]) {
        if (this.imageLookups.has(container.image)) continue;
        const lookup = cri.imageStatus(container.image);
        lookup.catch(() => undefined); // settled in ensureImage, which asks again on failure
        this.imageLookups.set(container.image, lookup);
      }
      // so are the projected ServiceAccount tokens: each is a round trip to the cloud, which the kubelet too makes
      // before the sandbox (its volume manager mounts first)
      if (this.deps.apiAccess !== undefined) {
        this.apiFilesLookup = this.apiAccessFiles();
        this.apiFilesLookup.catch(() => undefined); // settled in start(), which reports the failure as the container's
      }
      id = await cri.runPodSandbox(sandboxConfig(this.pod, this.deps.podsDir, attempt));
      logger.info({ pod: podKey(this.pod), sandboxId: id, attempt }, 'pod sandbox started');
      const status = cri.podSandboxStatus(id);
      status.catch(() => undefined); // awaited (and its failure thrown) by the sync, after the containers
      return { id, attempt, created, status };
    }
    const status = await cri.podSandboxStatus(id);
    return { id, attempt: status.metadata.attempt ?? 0, created, status: Promise.resolve(status) };
  }

  /**
   * Refuses the pod as a whole: nothing of it runs (a sandbox of an earlier, allowed spec is removed), the
   * status is Failed naming each field, and the first time each refusal is logged, counted and an Event.
   */
  private async refuse(refusals: Refusal[]): Promise<void> {
    const { cri, logger } = this.deps;
    const pod = this.pod;
    for (const refusal of refusals) this.noteRefusal(refusal.reason, refusal.message, POD_SECURITY_REFUSED);
    for (const sandbox of await cri.listPodSandbox({ labelSelector: { [POD_UID_LABEL]: pod.metadata.uid } })) {
      logger.warn({ pod: podKey(pod), sandboxId: sandbox.id }, 'removing the sandbox of a pod this node now refuses');
      await cri.stopPodSandbox(sandbox.id);
      await cri.removePodSandbox(sandbox.id);
    }
    const message = `edged refused the pod: ${refusals.map((r) => r.message).join('; ')}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const waiting = (spec: ContainerSpec) => ({
      name: spec.name,
      state: { waiting: { reason: POD_SECURITY_REFUSED, message } },
      lastState: {},
      ready: false,
      restartCount: 0,
      started: false,
      image: spec.image,
      imageID: '',
    });
    this.report({
      phase: 'Failed',
      reason: POD_SECURITY_REFUSED,
      message,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: this.conditions.find((c) => c.type === 'PodScheduled')?.lastTransitionTime ?? now },
        { type: 'Ready', status: 'False', reason: POD_SECURITY_REFUSED, lastTransitionTime: now },
      ],
      hostIP: this.deps.hostIP,
      hostIPs: [{ ip: this.deps.hostIP }],
      ...((pod.spec.initContainers ?? []).length > 0 ? { initContainerStatuses: (pod.spec.initContainers ?? []).map(waiting) } : {}),
      containerStatuses: pod.spec.containers.map(waiting),
    });
    // nothing runs and nothing will until the spec changes, which wakes the worker anyway
    this.settled = true;
  }

  /** Logs, counts and sends as a Warning Event a refusal the first time this pod meets it. */
  private noteRefusal(reason: Refusal['reason'], message: string, eventReason: string): void {
    const key = `${reason}\n${message}`;
    if (this.refusalsSeen.has(key)) return;
    this.refusalsSeen.add(key);
    this.deps.metrics?.count(reason);
    this.deps.logger.warn({ pod: podKey(this.pod), reason, refusal: message }, 'refused by the pod security of this node');
    this.emitPodEvent('Warning', eventReason, message);
  }

  private emitPodEvent(type: 'Normal' | 'Warning', reason: string, message: string): void {
    const { name, namespace, uid } = this.pod.metadata;
    const timestamp = new Date().toISOString();
    const eventName = `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0x10000).toString(16)}`;
    const event = {
      metadata: { name: eventName, namespace },
      involvedObject: { kind: 'Pod', apiVersion: 'v1', name, namespace, uid },
      type,
      reason,
      message,
      source: { component: 'kubelet', host: this.deps.nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: this.deps.nodeName,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    try {
      this.deps.reporter.report(newMessage({ source: POD_WORKER_SOURCE, group: Group.Resource, operation: Operation.Insert, resource: `${namespace}/event/${eventName}`, content: event }));
    } catch (error) {
      this.deps.logger.warn({ pod: podKey(this.pod), reason, error: error instanceof Error ? error.message : String(error) }, 'could not queue a pod event');
    }
  }

  private async syncRunning(): Promise<void> {
    const { cri, podsDir, nodeName, hostIP } = this.deps;
    const pod = this.pod;
    const refusals = admitPod(pod, this.deps.security);
    if (refusals.length > 0) {
      await this.refuse(refusals);
      return;
    }
    const sandbox = await this.ensureSandbox();
    // the pod IP before any container only when the spec hands it to one (a fieldRef to status.podIP)
    const podIP = pod.spec.hostNetwork ? hostIP : usesPodIP(pod) ? (await sandbox.status).ip : '';
    const ctx: SyncContext = { sandboxId: sandbox.id, sandboxConfig: sandboxConfig(pod, podsDir, sandbox.attempt), fields: { podIP, hostIP, nodeName } };

    const byName = new Map<string, ContainerStatus[]>();
    // a sandbox started a moment ago holds no container: asking the runtime would only queue behind other pods' starts
    for (const summary of sandbox.created ? [] : await cri.listContainers({ podSandboxId: sandbox.id })) {
      const name = summary.labels[CONTAINER_NAME_LABEL] ?? summary.metadata.name;
      byName.set(name, [...(byName.get(name) ?? []), await cri.containerStatus(summary.id)]);
    }
    for (const list of byName.values()) list.sort((a, b) => (a.createdAt > b.createdAt ? -1 : 1));

    const policy = pod.spec.restartPolicy ?? 'Always';
    let initialized = true;
    const initViews: ContainerView[] = [];
    for (const spec of pod.spec.initContainers ?? []) {
      const view = this.view(spec, byName);
      initViews.push(view);
      if (!initialized) continue;
      const current = view.current;
      if (current?.state === 'CONTAINER_EXITED' && current.exitCode === 0) continue;
      initialized = false;
      if (current === undefined) await this.start(view, ctx, 0);
      else if (current.state === 'CONTAINER_EXITED' && policy !== 'Never') await this.restartWhenDue(view, ctx);
      // an init container is meant to exit soon: look again at once rather than at the next relist
      if (view.current !== current) this.againWithStaleView();
    }
    const views: ContainerView[] = [];
    for (const spec of pod.spec.containers) {
      const view = this.view(spec, byName);
      views.push(view);
      if (!initialized) continue;
      const current = view.current;
      if (current === undefined) await this.start(view, ctx, 0);
      else if (current.state === 'CONTAINER_RUNNING' && this.specChanged(view)) await this.recreate(view, ctx);
      else if (current.state === 'CONTAINER_EXITED' && shouldRestart(policy, current.exitCode)) await this.restartWhenDue(view, ctx);
      else if (current.state === 'CONTAINER_CREATED') await cri.startContainer(current.id);
      // running, from before or started by this sync: probes and readiness
      if (view.current?.state === 'CONTAINER_RUNNING') await this.probe(view, pod.spec.hostNetwork ? hostIP : (await sandbox.status).ip);
    }
    const ephemeralViews = await this.syncEphemeral(byName, [...initViews, ...views], ctx, initialized);
    const probed = pod.spec.containers.some((c) => c.livenessProbe !== undefined || c.readinessProbe !== undefined);
    const settled = initialized && !probed && [...initViews, ...views, ...ephemeralViews].every((view) => view.waiting === undefined);
    // this sync stopped a container or started an init container after reading the runtime, and the next pass
    // runs at once: sending what this one saw would only hold the true status behind it in the outbox and the
    // cloud. A kick from outside (the relist, a pod update) only asks for one more sync; this report stays true.
    if (this.staleView) return;
    const sandboxStatus = await sandbox.status;
    this.report(
      podStatus(
        {
          pod, podIP: pod.spec.hostNetwork ? hostIP : sandboxStatus.ip, hostIP, startTime: new Date(Number(sandboxStatus.createdAt / 1_000_000n)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          initContainers: initViews, containers: views, ephemeralContainers: ephemeralViews, initialized,
        },
        this.conditions,
        new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ),
    );
    // only once the report is queued: a refused report keeps the pod unsettled, so the next relist retries it
    this.settled = settled;
  }

  /**
   * Ephemeral containers (kubectl debug): each is started once in the running sandbox, in its target's PID
   * namespace when it names one, and never restarted nor recreated. The node's pod security judges each
   * on its own: a refused one waits with the reason, and the pod keeps running.
   */
  private async syncEphemeral(byName: Map<string, ContainerStatus[]>, regular: ContainerView[], ctx: SyncContext, initialized: boolean): Promise<ContainerView[]> {
    const views: ContainerView[] = [];
    for (const spec of this.pod.spec.ephemeralContainers ?? []) {
      const view = this.view(spec, byName);
      views.push(view);
      if (!initialized) continue;
      const refusals = admitEphemeralContainer(this.pod, spec, this.deps.security);
      if (refusals.length > 0) {
        for (const refusal of refusals) this.noteRefusal(refusal.reason, refusal.message, POD_SECURITY_REFUSED);
        if (view.current === undefined) view.waiting = { reason: POD_SECURITY_REFUSED, message: `edged refused the ephemeral container: ${refusals.map((r) => r.message).join('; ')}` };
        continue;
      }
      if (view.current === undefined) {
        const target = spec.targetContainerName === undefined ? undefined : regular.find((other) => other.spec.name === spec.targetContainerName)?.current;
        if (spec.targetContainerName !== undefined && target?.state !== 'CONTAINER_RUNNING') {
          view.waiting = { reason: 'ContainerCreating', message: `waiting for target container "${spec.targetContainerName}" to run` };
          continue;
        }
        await this.start(view, ctx, 0, target?.id);
      } else if (view.current.state === 'CONTAINER_CREATED') await this.deps.cri.startContainer(view.current.id);
    }
    return views;
  }

  /** The projected ServiceAccount tokens of the pod (fetched or held), and the CA for its API access. */
  private async apiAccessFiles(): Promise<ApiAccessFiles | undefined> {
    const access = this.deps.apiAccess;
    if (access === undefined) return undefined;
    const tokens = new Map<string, string>();
    for (const volume of this.pod.spec.volumes ?? []) {
      for (const source of volume.projected?.sources ?? []) {
        const projection = source.serviceAccountToken;
        if (projection !== undefined) tokens.set(tokenKey(volume.name, projection.path), await access.tokens.tokenFor(this.pod, projection));
      }
    }
    return { caPem: access.caPem, tokens };
  }

  private trackTokens(): void {
    const access = this.deps.apiAccess;
    if (access === undefined) return;
    for (const volume of this.pod.spec.volumes ?? []) {
      for (const source of volume.projected?.sources ?? []) {
        if (source.serviceAccountToken !== undefined) access.tokens.track(this.pod, volumeDir(this.deps.podsDir, this.pod, volume.name), source.serviceAccountToken);
      }
    }
  }

  private view(spec: ContainerSpec, byName: Map<string, ContainerStatus[]>): ContainerView {
    const [current, previous] = byName.get(spec.name) ?? [];
    const failure = this.failures.get(spec.name);
    return {
      spec,
      ...(current ? { current } : {}),
      ...(previous ? { previous } : {}),
      restartCount: current ? restartCountOf(current.annotations) : 0,
      ...(failure ? { waiting: { reason: failure.reason, message: failure.message } } : {}),
      ready: false,
    };
  }

  private specChanged(view: ContainerView): boolean {
    const hash = view.current?.annotations[CONTAINER_HASH_ANNOTATION];
    return hash !== undefined && hash !== containerHash(view.spec);
  }

  /** The spec changed (a new image): stop the old container gracefully and start one from the new spec, whatever the restart policy. */
  private async recreate(view: ContainerView, ctx: SyncContext): Promise<void> {
    const current = view.current;
    if (!current) return;
    this.deps.logger.info({ pod: podKey(this.pod), container: view.spec.name, image: view.spec.image }, 'container spec changed; recreating the container');
    await this.deps.cri.stopContainer(current.id, this.pod.spec.terminationGracePeriodSeconds ?? 30);
    view.current = await this.deps.cri.containerStatus(current.id);
    await this.start(view, ctx, view.restartCount + 1);
  }

  private async restartWhenDue(view: ContainerView, ctx: SyncContext): Promise<void> {
    const current = view.current;
    if (!current) return;
    const dueAt = nextStartAtMs(current.finishedAt, view.restartCount, this.deps.backoff);
    if (Date.now() < dueAt) {
      const delay = restartDelayMs(view.restartCount, this.deps.backoff);
      const pod = this.pod.metadata;
      view.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(delay / 100) / 10}s restarting failed container=${view.spec.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`,
      };
      return;
    }
    await this.start(view, ctx, view.restartCount + 1);
  }

  /** Creates and starts the container; a setup failure becomes its waiting reason, retried with back-off. */
  private async start(view: ContainerView, ctx: SyncContext, restartCount: number, targetId?: string): Promise<void> {
    const { cri, store, podsDir } = this.deps;
    const name = view.spec.name;
    const failure = this.failures.get(name);
    if (failure && Date.now() < failure.retryAtMs) return;
    try {
      const image = await this.ensureImage(view.spec.image);
      if (ctx.volumes === undefined) {
        const lookup = this.apiFilesLookup;
        this.apiFilesLookup = undefined;
        const api = await (lookup ?? this.apiAccessFiles());
        ctx.volumes = prepareVolumes(store, this.pod, podsDir, ctx.fields, this.deps.security.allowedHostPaths ?? [], api);
        this.trackTokens();
      }
      const envs = resolveEnv(store, this.pod, view.spec, ctx.fields, serviceEnv(store, this.pod, this.deps.apiAccess?.endpoint));
      const subPaths = prepareSubPaths(this.pod, view.spec, ctx.volumes, podsDir);
      const config = containerConfig(this.pod, view.spec, restartCount, { envs, volumes: ctx.volumes, subPaths, ...(image ? { image } : {}), ...(targetId ? { targetId } : {}) });
      let id: string;
      try {
        id = await cri.createContainer(ctx.sandboxId, config, ctx.sandboxConfig);
      } catch (error) {
        throw new PodSetupError('CreateContainerError', error instanceof Error ? error.message : String(error));
      }
      try {
        await cri.startContainer(id);
      } catch (error) {
        throw new PodSetupError('RunContainerError', error instanceof Error ? error.message : String(error));
      }
      this.failures.delete(name);
      delete view.waiting;
      // keep the container just replaced (it is lastState); older dead ones are garbage
      if (view.previous) await cri.removeContainer(view.previous.id);
      // the status of the started container goes into this sync's report: a second pass reading the whole
      // pod back from the runtime would queue behind every other pod's start on a busy runtime
      if (view.current) view.previous = view.current;
      else delete view.previous;
      view.current = await cri.containerStatus(id);
      view.restartCount = restartCount;
    } catch (error) {
      if (!(error instanceof PodSetupError)) throw error;
      if (error.refusal) this.noteRefusal(error.refusal, error.message, error.refusal === 'runAsNonRoot' ? 'Failed' : 'FailedMount');
      const attempts = (failure?.attempts ?? 0) + 1;
      const next: Failure = { reason: error.reason, message: error.message, attempts, retryAtMs: Date.now() + restartDelayMs(attempts - 1, this.deps.backoff) };
      this.failures.set(name, next);
      view.waiting = { reason: next.reason, message: next.message };
      this.deps.logger.warn({ pod: podKey(this.pod), container: name, reason: error.reason, error: error.message }, 'container could not start');
    }
  }

  /** The image's status (for its user), pulling it first when it is not on the node. */
  private async ensureImage(image: string): Promise<ImageInfo | undefined> {
    const { cri } = this.deps;
    const lookup = this.imageLookups.get(image);
    this.imageLookups.delete(image);
    const present = await (lookup?.catch(() => cri.imageStatus(image)) ?? cri.imageStatus(image));
    if (present) return present;
    try {
      await cri.pullImage(image, { timeoutMs: 60_000 });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new PodSetupError('ErrImagePull', `image "${image}" is not on this node and could not be pulled (${reason}); import it with ctr -n k8s.io images import`);
    }
    return cri.imageStatus(image);
  }

  /** Runs due probes; a failed liveness probe stops the container, and the restart policy brings it back. */
  private async probe(view: ContainerView, podIP: string): Promise<void> {
    const current = view.current;
    if (!current) return;
    const nowMs = Date.now();
    const startedAtMs = Number(current.startedAt / 1_000_000n);
    const probeOf = (kind: 'liveness' | 'readiness'): ProbeState | undefined => {
      const spec = kind === 'liveness' ? view.spec.livenessProbe : view.spec.readinessProbe;
      if (!spec) return undefined;
      const key = `${kind}:${view.spec.name}`;
      let state = this.probes.get(key);
      if (state?.containerId !== current.id) {
        state = new ProbeState(current.id, spec, kind === 'liveness', startedAtMs);
        this.probes.set(key, state);
      }
      return state;
    };
    const liveness = probeOf('liveness');
    if (liveness?.due(nowMs) && view.spec.livenessProbe) {
      liveness.record(await runProbe(this.deps.cri, current.id, view.spec, view.spec.livenessProbe, podIP), nowMs);
      if (!liveness.healthy) {
        this.deps.logger.info({ pod: podKey(this.pod), container: view.spec.name, reason: liveness.lastMessage }, 'liveness probe failed; restarting the container');
        const grace = this.pod.spec.terminationGracePeriodSeconds ?? 30;
        await this.deps.cri.stopContainer(current.id, grace);
        this.againWithStaleView();
        return;
      }
    }
    const readiness = probeOf('readiness');
    if (readiness?.due(nowMs) && view.spec.readinessProbe) {
      readiness.record(await runProbe(this.deps.cri, current.id, view.spec, view.spec.readinessProbe, podIP), nowMs);
    }
    view.ready = readiness ? readiness.healthy : true;
  }

  private report(status: Record<string, unknown>): void {
    this.conditions = status['conditions'] as typeof this.conditions;
    const text = JSON.stringify(status);
    if (text === this.lastReport) return;
    const { name, namespace, uid } = this.pod.metadata;
    this.deps.reporter.report(
      newMessage({ source: POD_WORKER_SOURCE, group: Group.Resource, operation: Operation.Update, resource: `${namespace}/podstatus/${name}`, content: { metadata: { name, namespace, uid }, status } }),
    );
    // after the outbox took it: a refused report is sent again on the next sync
    this.lastReport = text;
  }
}
