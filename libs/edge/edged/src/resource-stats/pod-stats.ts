// CRI answers → the summary's pods: containers are grouped by the labels edged puts on them
// (io.kubernetes.pod.namespace/name/uid, io.kubernetes.container.name); only running containers of
// ready sandboxes count, as in the kubelet. Pod figures come from ListPodSandboxStats when the runtime
// answers it, else they are the sums of the pod's containers.
import type { ContainerStats as CriContainerStats, ContainerSummary, PodSandboxStats, PodSandboxSummary, CpuUsage, MemoryUsage } from '@kedge/cri';
import { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from '../pods/labels';
import type { CpuRateTracker } from './cpu-rate';
import { nanosToTime, type ContainerStats, type CpuStats, type MemoryStats, type PodStats } from './summary';

export interface RuntimeSnapshot {
  sandboxes: PodSandboxSummary[];
  containers: ContainerSummary[];
  containerStats: CriContainerStats[];
  /** undefined when the runtime could not answer ListPodSandboxStats */
  sandboxStats: PodSandboxStats[] | undefined;
}

function cpuStats(usage: CpuUsage | undefined, key: string, rates: CpuRateTracker): CpuStats | undefined {
  if (usage === undefined || usage.usageCoreNanoSeconds === undefined) return undefined;
  const stats: CpuStats = { time: nanosToTime(usage.timestamp), usageCoreNanoSeconds: usage.usageCoreNanoSeconds };
  const computed = rates.rate(key, { usageCoreNanoSeconds: usage.usageCoreNanoSeconds, timestampNanos: usage.timestamp });
  // a runtime that computes the rate itself is trusted; 0 from containerd 1.6 means "not computed"
  const nanoCores = usage.usageNanoCores !== undefined && usage.usageNanoCores > 0 ? usage.usageNanoCores : computed;
  if (nanoCores !== undefined) stats.usageNanoCores = nanoCores;
  return stats;
}

function memoryStats(usage: MemoryUsage | undefined): MemoryStats | undefined {
  if (usage === undefined || usage.workingSetBytes === undefined) return undefined;
  const stats: MemoryStats = { time: nanosToTime(usage.timestamp), workingSetBytes: usage.workingSetBytes };
  if (usage.usageBytes !== undefined) stats.usageBytes = usage.usageBytes;
  if (usage.rssBytes !== undefined) stats.rssBytes = usage.rssBytes;
  // containerd reports 0 without a limit; the kubelet leaves availableBytes out then
  if (usage.availableBytes !== undefined && usage.availableBytes > 0) stats.availableBytes = usage.availableBytes;
  if (usage.pageFaults !== undefined) stats.pageFaults = usage.pageFaults;
  if (usage.majorPageFaults !== undefined) stats.majorPageFaults = usage.majorPageFaults;
  return stats;
}

const later = (a: string, b: string): string => (a > b ? a : b);

function sumCpu(parts: (CpuStats | undefined)[]): CpuStats | undefined {
  const present = parts.filter((part): part is CpuStats => part !== undefined);
  if (present.length === 0 || present.length !== parts.length) return undefined;
  const sum: CpuStats = { time: present.map((p) => p.time).reduce(later), usageCoreNanoSeconds: present.reduce((total, p) => total + (p.usageCoreNanoSeconds ?? 0), 0) };
  if (present.every((p) => p.usageNanoCores !== undefined)) sum.usageNanoCores = present.reduce((total, p) => total + (p.usageNanoCores ?? 0), 0);
  return sum;
}

function sumMemory(parts: (MemoryStats | undefined)[]): MemoryStats | undefined {
  const present = parts.filter((part): part is MemoryStats => part !== undefined);
  if (present.length === 0 || present.length !== parts.length) return undefined;
  const total = (field: 'workingSetBytes' | 'usageBytes' | 'rssBytes'): number | undefined =>
    present.every((p) => p[field] !== undefined) ? present.reduce((sum, p) => sum + (p[field] ?? 0), 0) : undefined;
  const sum: MemoryStats = { time: present.map((p) => p.time).reduce(later) };
  for (const field of ['workingSetBytes', 'usageBytes', 'rssBytes'] as const) {
    const value = total(field);
    if (value !== undefined) sum[field] = value;
  }
  return sum;
}

interface PodEntry {
  podRef: { name: string; namespace: string; uid: string };
  sandbox: PodSandboxSummary;
  containers: ContainerStats[];
}

/** The summary's pods from one snapshot of the runtime. Rates use (and update) `rates`. */
export function buildPodStats(snapshot: RuntimeSnapshot, rates: CpuRateTracker): PodStats[] {
  const pods = new Map<string, PodEntry>();
  for (const sandbox of snapshot.sandboxes) {
    if (sandbox.state !== 'SANDBOX_READY') continue;
    const labels = sandbox.labels;
    const podRef = {
      name: labels[POD_NAME_LABEL] ?? sandbox.metadata.name,
      namespace: labels[POD_NAMESPACE_LABEL] ?? sandbox.metadata.namespace,
      uid: labels[POD_UID_LABEL] ?? sandbox.metadata.uid,
    };
    if (podRef.uid === '' || podRef.name === '') continue;
    pods.set(podRef.uid, { podRef, sandbox, containers: [] });
  }
  const running = new Map(snapshot.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => [c.id, c]));
  for (const stats of snapshot.containerStats) {
    const container = running.get(stats.id);
    if (container === undefined) continue;
    const uid = stats.labels[POD_UID_LABEL] ?? container.labels[POD_UID_LABEL];
    const pod = uid === undefined ? undefined : pods.get(uid);
    if (pod === undefined) continue;
    const entry: ContainerStats = {
      name: stats.labels[CONTAINER_NAME_LABEL] ?? (stats.name || container.metadata.name),
      startTime: nanosToTime(container.createdAt),
    };
    const cpu = cpuStats(stats.cpu, `container:${stats.id}`, rates);
    const memory = memoryStats(stats.memory);
    if (cpu) entry.cpu = cpu;
    if (memory) entry.memory = memory;
    pod.containers.push(entry);
  }
  const sandboxStats = new Map((snapshot.sandboxStats ?? []).map((s) => [s.id, s]));
  const result: PodStats[] = [];
  for (const pod of pods.values()) {
    pod.containers.sort((a, b) => a.name.localeCompare(b.name));
    const stats: PodStats = { podRef: pod.podRef, startTime: nanosToTime(pod.sandbox.createdAt), containers: pod.containers };
    const fromRuntime = sandboxStats.get(pod.sandbox.id);
    const cpu = fromRuntime?.cpu ? cpuStats(fromRuntime.cpu, `pod:${pod.podRef.uid}`, rates) : sumCpu(pod.containers.map((c) => c.cpu));
    const memory = fromRuntime?.memory ? memoryStats(fromRuntime.memory) : sumMemory(pod.containers.map((c) => c.memory));
    if (cpu && pod.containers.length > 0) stats.cpu = cpu;
    if (memory && pod.containers.length > 0) stats.memory = memory;
    result.push(stats);
  }
  return result.sort((a, b) => a.podRef.namespace.localeCompare(b.podRef.namespace) || a.podRef.name.localeCompare(b.podRef.name));
}
