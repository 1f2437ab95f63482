// The runtime relist (the kubelet's PLEG): one ListPodSandbox and one ListContainers for every pod of the
// node each period, reduced to one fingerprint per pod. A pod whose fingerprint changed (a container exited,
// a sandbox stopped, something was removed behind edged's back) is synced; one whose fingerprint holds is left
// alone unless its worker asks for periodic syncs (probes, back-off, anything still waiting). So 20 settled
// pods cost two CRI calls a second, not four per pod.
import type { ContainerSummary, PodSandboxSummary } from '@kedge/cri';
import { POD_UID_LABEL } from './labels';

/** Per pod uid: its sandboxes and containers as `id=state`, sorted, so any state change or (dis)appearance shows. */
export function runtimeFingerprints(sandboxes: readonly PodSandboxSummary[], containers: readonly ContainerSummary[]): Map<string, string> {
  const parts = new Map<string, string[]>();
  const add = (uid: string | undefined, part: string): void => {
    if (uid === undefined) return;
    const list = parts.get(uid);
    if (list === undefined) parts.set(uid, [part]);
    else list.push(part);
  };
  for (const sandbox of sandboxes) add(sandbox.labels[POD_UID_LABEL], `s:${sandbox.id}=${sandbox.state}`);
  for (const container of containers) add(container.labels[POD_UID_LABEL], `c:${container.id}=${container.state}`);
  return new Map([...parts].map(([uid, list]) => [uid, list.sort().join(',')]));
}

/** What the relist needs of a pod worker to decide whether it syncs this period. */
export interface RelistedWorker {
  /** the last sync converged the pod and nothing in it waits for time to pass (no probe, back-off or retry) */
  readonly settled: boolean;
  /** Date.now() when the last sync finished; 0 before the first */
  readonly lastSyncAt: number;
}

/**
 * Whether a worker syncs after this relist: always when the runtime could not be listed (each sync then reports
 * the failure), when its pod's fingerprint changed since the last relist, when it is not settled, or when its
 * last sync is older than `resyncMs` (a safety net, as the kubelet's periodic pod sync).
 */
export function needsSync(worker: RelistedWorker, fingerprint: string | undefined, previous: string | undefined, now: number, resyncMs: number): boolean {
  if (fingerprint === undefined) return true;
  return fingerprint !== previous || !worker.settled || now - worker.lastSyncAt >= resyncMs;
}
