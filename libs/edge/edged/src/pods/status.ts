// Builds the pod status edged reports: phase, the four kubelet conditions, and per-container state,
// lastState, restartCount, ready/started, image and ids, from what the runtime says.
import type { ContainerStatus } from '@kedge/cri';
import type { ContainerSpec, Pod } from './pod-spec';

export interface ContainerView {
  spec: ContainerSpec;
  /** the newest runtime container of this name */
  current?: ContainerStatus;
  /** the one before it, for lastState */
  previous?: ContainerStatus;
  restartCount: number;
  /** why it is not running, when edged knows (ErrImagePull, CrashLoopBackOff, ...) */
  waiting?: { reason: string; message: string };
  ready: boolean;
}

export interface PodView {
  pod: Pod;
  podIP: string;
  hostIP: string;
  startTime: string;
  initContainers: ContainerView[];
  containers: ContainerView[];
  /** ephemeral containers: reported, never counted in phase or readiness */
  ephemeralContainers?: ContainerView[];
  initialized: boolean;
}

const iso = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString().replace(/\.\d{3}Z$/, 'Z');

function terminated(status: ContainerStatus): Record<string, unknown> {
  return {
    terminated: {
      exitCode: status.exitCode,
      reason: status.reason || (status.exitCode === 0 ? 'Completed' : 'Error'),
      ...(status.message ? { message: status.message } : {}),
      startedAt: status.startedAt > 0n ? iso(status.startedAt) : null,
      finishedAt: iso(status.finishedAt),
      containerID: `containerd://${status.id}`,
    },
  };
}

function containerState(view: ContainerView): Record<string, unknown> {
  const current = view.current;
  if (view.waiting) return { waiting: view.waiting };
  if (current?.state === 'CONTAINER_RUNNING') return { running: { startedAt: iso(current.startedAt) } };
  if (current?.state === 'CONTAINER_EXITED') return terminated(current);
  return { waiting: { reason: 'ContainerCreating' } };
}

export function containerStatus(view: ContainerView): Record<string, unknown> {
  const current = view.current;
  const state = containerState(view);
  // a container waiting for its restart shows its exit as lastState, like the kubelet
  const last = view.waiting && current?.state === 'CONTAINER_EXITED' ? current : view.previous;
  return {
    name: view.spec.name,
    state,
    lastState: last && last.state === 'CONTAINER_EXITED' ? terminated(last) : {},
    ready: view.ready,
    restartCount: view.restartCount,
    started: current?.state === 'CONTAINER_RUNNING' && !view.waiting,
    image: view.spec.image,
    imageID: current?.imageRef ?? '',
    ...(current ? { containerID: `containerd://${current.id}` } : {}),
  };
}

function phase(view: PodView): string {
  const policy = view.pod.spec.restartPolicy ?? 'Always';
  const states = view.containers.map((c) => c.current?.state);
  if (!view.initialized) return view.initContainers.some((c) => c.current?.state === 'CONTAINER_EXITED' && c.current.exitCode !== 0) && policy === 'Never' ? 'Failed' : 'Pending';
  if (states.some((s) => s === 'CONTAINER_RUNNING')) return 'Running';
  const allExited = states.every((s) => s === 'CONTAINER_EXITED');
  if (allExited && policy !== 'Always') {
    const failed = view.containers.some((c) => (c.current?.exitCode ?? 0) !== 0);
    if (!failed) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
  }
  // exited and about to restart: the kubelet reports Running once the pod has run
  return states.some((s) => s === 'CONTAINER_EXITED') ? 'Running' : 'Pending';
}

type Condition = { type: string; status: 'True' | 'False'; lastTransitionTime: string; reason?: string };

/** The status; `previous` conditions keep their lastTransitionTime while their status holds. */
export function podStatus(view: PodView, previousConditions: Condition[], now: string): Record<string, unknown> {
  const containersReady = view.containers.every((c) => c.ready);
  const wanted: [string, boolean, string?][] = [
    ['PodScheduled', true],
    ['Initialized', view.initialized, view.initialized ? undefined : 'ContainersNotInitialized'],
    ['ContainersReady', containersReady, containersReady ? undefined : 'ContainersNotReady'],
    ['Ready', containersReady, containersReady ? undefined : 'ContainersNotReady'],
  ];
  const conditions: Condition[] = wanted.map(([type, ok, reason]) => {
    const status = ok ? 'True' : 'False';
    const before = previousConditions.find((c) => c.type === type && c.status === status);
    return { type, status, lastTransitionTime: before?.lastTransitionTime ?? now, ...(reason ? { reason } : {}) };
  });
  return {
    phase: phase(view),
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    ...(view.podIP ? { podIP: view.podIP, podIPs: [{ ip: view.podIP }] } : {}),
    startTime: view.startTime,
    ...(view.initContainers.length > 0 ? { initContainerStatuses: view.initContainers.map(containerStatus) } : {}),
    containerStatuses: view.containers.map(containerStatus),
    ...((view.ephemeralContainers ?? []).length > 0 ? { ephemeralContainerStatuses: (view.ephemeralContainers ?? []).map(containerStatus) } : {}),
  };
}
