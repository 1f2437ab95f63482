// Conversions between the typed shapes in cri-types and what @grpc/proto-loader produces and accepts
// (camelCase, int64 as strings, enums as names, absent messages as null). Kept apart from the client so
// the client reads as a list of CRI calls.
import type {
  ContainerConfig,
  ContainerMount,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  ContainerSummary,
  CpuUsage,
  FilesystemUsage,
  ImageFsInfo,
  ImageInfo,
  LinuxContainerResources,
  MemoryUsage,
  NamespaceOptions,
  PodSandboxConfig,
  PodSandboxMetadata,
  PodSandboxState,
  PodSandboxStats,
  PodSandboxStatus,
  PodSandboxSummary,
  RuntimeStatus,
} from './cri-types';

type StringMap = Record<string, string>;
type Int64 = string;

export interface WireVersion {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface WireStatus {
  status: { conditions: Array<{ type: string; status: boolean; reason: string; message: string }> } | null;
  info: StringMap;
}

interface WireSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface WirePodSandbox {
  id: string;
  metadata: WireSandboxMetadata | null;
  state: PodSandboxState;
  createdAt: Int64;
  labels: StringMap;
  annotations: StringMap;
  runtimeHandler: string;
}

export interface WirePodSandboxStatusResponse {
  status: (WirePodSandbox & {
    network: { ip: string; additionalIps: Array<{ ip: string }> } | null;
    linux: { namespaces: { options: WireNamespaceOption | null } | null } | null;
  }) | null;
  info: StringMap;
}

interface WireNamespaceOption {
  network: NamespaceOptions['network'];
  pid: NamespaceOptions['pid'];
  ipc: NamespaceOptions['ipc'];
  targetId: string;
}

interface WireImageSpec {
  image: string;
}

export interface WireContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number } | null;
  image: WireImageSpec | null;
  imageRef: string;
  state: ContainerState;
  createdAt: Int64;
  labels: StringMap;
  annotations: StringMap;
}

interface WireLinuxResources {
  cpuPeriod: Int64;
  cpuQuota: Int64;
  cpuShares: Int64;
  memoryLimitInBytes: Int64;
  oomScoreAdj: Int64;
  cpusetCpus: string;
  cpusetMems: string;
}

interface WireMount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  propagation: ContainerMount['propagation'];
}

export interface WireContainerStatusResponse {
  status: {
    id: string;
    metadata: { name: string; attempt: number } | null;
    state: ContainerState;
    createdAt: Int64;
    startedAt: Int64;
    finishedAt: Int64;
    exitCode: number;
    image: WireImageSpec | null;
    imageRef: string;
    reason: string;
    message: string;
    labels: StringMap;
    annotations: StringMap;
    mounts: WireMount[];
    logPath: string;
    resources: { linux: WireLinuxResources | null } | null;
  } | null;
  info: StringMap;
}

export interface WireImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: Int64;
  uid: { value: Int64 } | null;
  username: string;
  pinned: boolean;
}

interface WireFilesystemUsage {
  timestamp: Int64;
  fsId: { mountpoint: string } | null;
  usedBytes: { value: Int64 } | null;
  inodesUsed: { value: Int64 } | null;
}

export interface WireImageFsInfoResponse {
  imageFilesystems: WireFilesystemUsage[];
  containerFilesystems: WireFilesystemUsage[];
}

// ---- requests ----

const int64Value = (value: number | undefined): { value: number } | undefined => (value === undefined ? undefined : { value });

export function sandboxConfigToWire(config: PodSandboxConfig): object {
  const security = config.linux?.securityContext;
  return {
    ...config,
    linux: config.linux && {
      ...config.linux,
      securityContext: security && { ...security, runAsUser: int64Value(security.runAsUser), runAsGroup: int64Value(security.runAsGroup) },
    },
  };
}

export function containerConfigToWire(config: ContainerConfig): object {
  const security = config.linux?.securityContext;
  return {
    ...config,
    image: { image: config.image },
    linux: config.linux && {
      ...config.linux,
      securityContext: security && { ...security, runAsUser: int64Value(security.runAsUser), runAsGroup: int64Value(security.runAsGroup) },
    },
  };
}

// ---- responses ----

const toBigInt = (value: Int64 | undefined): bigint => BigInt(value || 0);
const toNumber = (value: Int64 | undefined): number => Number(value || 0);

function sandboxMetadata(metadata: WireSandboxMetadata | null): PodSandboxMetadata {
  return { name: metadata?.name ?? '', uid: metadata?.uid ?? '', namespace: metadata?.namespace ?? '', attempt: metadata?.attempt ?? 0 };
}

export function runtimeStatusFromWire(wire: WireStatus): RuntimeStatus {
  const conditions = wire.status?.conditions ?? [];
  const isTrue = (type: string): boolean => conditions.some((c) => c.type === type && c.status);
  return { conditions, runtimeReady: isTrue('RuntimeReady'), networkReady: isTrue('NetworkReady'), info: wire.info };
}

export function podSandboxFromWire(wire: WirePodSandbox): PodSandboxSummary {
  return {
    id: wire.id,
    metadata: sandboxMetadata(wire.metadata),
    state: wire.state,
    createdAt: toBigInt(wire.createdAt),
    labels: wire.labels,
    annotations: wire.annotations,
    runtimeHandler: wire.runtimeHandler,
  };
}

export function podSandboxStatusFromWire(wire: WirePodSandboxStatusResponse, id: string): PodSandboxStatus {
  if (!wire.status) throw new Error(`PodSandboxStatus for sandbox ${id} returned no status`);
  const options = wire.status.linux?.namespaces?.options ?? null;
  return {
    ...podSandboxFromWire(wire.status),
    ip: wire.status.network?.ip ?? '',
    additionalIps: (wire.status.network?.additionalIps ?? []).map((entry) => entry.ip),
    namespaceOptions: options ? { network: options.network, pid: options.pid, ipc: options.ipc, targetId: options.targetId } : undefined,
    info: wire.info,
  };
}

export function containerFromWire(wire: WireContainer): ContainerSummary {
  return {
    id: wire.id,
    podSandboxId: wire.podSandboxId,
    metadata: { name: wire.metadata?.name ?? '', attempt: wire.metadata?.attempt ?? 0 },
    image: wire.image?.image ?? '',
    imageRef: wire.imageRef,
    state: wire.state,
    createdAt: toBigInt(wire.createdAt),
    labels: wire.labels,
    annotations: wire.annotations,
  };
}

function resourcesFromWire(wire: WireLinuxResources): LinuxContainerResources {
  return {
    cpuPeriod: toNumber(wire.cpuPeriod),
    cpuQuota: toNumber(wire.cpuQuota),
    cpuShares: toNumber(wire.cpuShares),
    memoryLimitInBytes: toNumber(wire.memoryLimitInBytes),
    oomScoreAdj: toNumber(wire.oomScoreAdj),
    cpusetCpus: wire.cpusetCpus,
    cpusetMems: wire.cpusetMems,
  };
}

export function containerStatusFromWire(wire: WireContainerStatusResponse, id: string): ContainerStatus {
  const status = wire.status;
  if (!status) throw new Error(`ContainerStatus for container ${id} returned no status`);
  const linuxResources = status.resources?.linux;
  return {
    id: status.id,
    metadata: { name: status.metadata?.name ?? '', attempt: status.metadata?.attempt ?? 0 },
    state: status.state,
    createdAt: toBigInt(status.createdAt),
    startedAt: toBigInt(status.startedAt),
    finishedAt: toBigInt(status.finishedAt),
    exitCode: status.exitCode,
    image: status.image?.image ?? '',
    imageRef: status.imageRef,
    reason: status.reason,
    message: status.message,
    labels: status.labels,
    annotations: status.annotations,
    mounts: status.mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly, propagation: m.propagation })),
    logPath: status.logPath,
    resources: linuxResources ? resourcesFromWire(linuxResources) : undefined,
    info: wire.info,
  };
}

export function imageFromWire(wire: WireImage): ImageInfo {
  return {
    id: wire.id,
    repoTags: wire.repoTags,
    repoDigests: wire.repoDigests,
    size: toNumber(wire.size),
    uid: wire.uid ? toNumber(wire.uid.value) : undefined,
    username: wire.username,
    pinned: wire.pinned,
  };
}

function filesystemUsageFromWire(wire: WireFilesystemUsage): FilesystemUsage {
  return {
    timestamp: toBigInt(wire.timestamp),
    mountpoint: wire.fsId?.mountpoint ?? '',
    usedBytes: toNumber(wire.usedBytes?.value),
    inodesUsed: toNumber(wire.inodesUsed?.value),
  };
}

export function imageFsInfoFromWire(wire: WireImageFsInfoResponse): ImageFsInfo {
  return {
    imageFilesystems: wire.imageFilesystems.map(filesystemUsageFromWire),
    containerFilesystems: wire.containerFilesystems.map(filesystemUsageFromWire),
  };
}

// ---- stats ----

interface WireUInt64 {
  value: Int64;
}

interface WireCpuUsage {
  timestamp: Int64;
  usageCoreNanoSeconds: WireUInt64 | null;
  usageNanoCores: WireUInt64 | null;
}

interface WireMemoryUsage {
  timestamp: Int64;
  workingSetBytes: WireUInt64 | null;
  availableBytes: WireUInt64 | null;
  usageBytes: WireUInt64 | null;
  rssBytes: WireUInt64 | null;
  pageFaults: WireUInt64 | null;
  majorPageFaults: WireUInt64 | null;
}

export interface WireContainerStats {
  attributes: { id: string; metadata: { name: string; attempt: number } | null; labels: StringMap; annotations: StringMap } | null;
  cpu: WireCpuUsage | null;
  memory: WireMemoryUsage | null;
}

export interface WirePodSandboxStats {
  attributes: { id: string; metadata: WireSandboxMetadata | null; labels: StringMap; annotations: StringMap } | null;
  linux: { cpu: WireCpuUsage | null; memory: WireMemoryUsage | null; containers: WireContainerStats[] } | null;
}

// a wrapper message the runtime left out is a value it does not know, not a zero
const optionalUInt64 = (wrapper: WireUInt64 | null | undefined): number | undefined => (wrapper ? toNumber(wrapper.value) : undefined);

/** Copies only the values present, so an absent field stays absent under exactOptionalPropertyTypes. */
function definedOnly<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}

function cpuUsageFromWire(wire: WireCpuUsage | null): CpuUsage | undefined {
  if (!wire) return undefined;
  return definedOnly({
    timestamp: toBigInt(wire.timestamp),
    usageCoreNanoSeconds: optionalUInt64(wire.usageCoreNanoSeconds),
    usageNanoCores: optionalUInt64(wire.usageNanoCores),
  });
}

function memoryUsageFromWire(wire: WireMemoryUsage | null): MemoryUsage | undefined {
  if (!wire) return undefined;
  return definedOnly({
    timestamp: toBigInt(wire.timestamp),
    workingSetBytes: optionalUInt64(wire.workingSetBytes),
    availableBytes: optionalUInt64(wire.availableBytes),
    usageBytes: optionalUInt64(wire.usageBytes),
    rssBytes: optionalUInt64(wire.rssBytes),
    pageFaults: optionalUInt64(wire.pageFaults),
    majorPageFaults: optionalUInt64(wire.majorPageFaults),
  });
}

export function containerStatsFromWire(wire: WireContainerStats): ContainerStats {
  const attributes = wire.attributes;
  return definedOnly({
    id: attributes?.id ?? '',
    name: attributes?.metadata?.name ?? '',
    labels: attributes?.labels ?? {},
    annotations: attributes?.annotations ?? {},
    cpu: cpuUsageFromWire(wire.cpu),
    memory: memoryUsageFromWire(wire.memory),
  });
}

export function podSandboxStatsFromWire(wire: WirePodSandboxStats): PodSandboxStats {
  const attributes = wire.attributes;
  return definedOnly({
    id: attributes?.id ?? '',
    metadata: sandboxMetadata(attributes?.metadata ?? null),
    labels: attributes?.labels ?? {},
    annotations: attributes?.annotations ?? {},
    cpu: cpuUsageFromWire(wire.linux?.cpu ?? null),
    memory: memoryUsageFromWire(wire.linux?.memory ?? null),
    containers: (wire.linux?.containers ?? []).map(containerStatsFromWire),
  });
}
