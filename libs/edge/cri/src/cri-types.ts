// The typed, camelCase shapes CriClient accepts and returns. They mirror runtime.v1 closely so a reader who
// knows the CRI recognises every field, but drop what kedge never sets (Windows, SELinux, devices).
// Timestamps stay int64 nanoseconds as in the CRI; they are bigint because they exceed 2^53.

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';
export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
export type PortProtocol = 'TCP' | 'UDP' | 'SCTP';
export type MountPropagation = 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';

export interface NamespaceOptions {
  network?: NamespaceMode;
  pid?: NamespaceMode;
  ipc?: NamespaceMode;
  targetId?: string;
}

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

export interface DnsConfig {
  servers?: string[];
  searches?: string[];
  options?: string[];
}

export interface PortMapping {
  protocol?: PortProtocol;
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  /** Must be set unless the pod uses the node's network namespace. */
  hostname?: string;
  /** Host directory that container log paths are relative to, e.g. /var/log/pods/<ns>_<name>_<uid>. */
  logDirectory?: string;
  dnsConfig?: DnsConfig;
  portMappings?: PortMapping[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    sysctls?: Record<string, string>;
    securityContext?: {
      namespaceOptions?: NamespaceOptions;
      privileged?: boolean;
      readonlyRootfs?: boolean;
      runAsUser?: number;
      runAsGroup?: number;
      supplementalGroups?: number[];
      /** absent: the runtime runs the sandbox unconfined */
      seccomp?: SecurityProfile;
    };
  };
}

/**
 * A seccomp profile. Absent means unconfined to containerd, so a caller that wants the runtime's default
 * profile must say RuntimeDefault.
 */
export interface SecurityProfile {
  profileType: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  /** the profile file's absolute path on the node, for Localhost */
  localhostRef?: string;
}

/** Capability names without the CAP_ prefix (the runtime adds it), as in a pod spec; "ALL" means all. */
export interface Capabilities {
  addCapabilities?: string[];
  dropCapabilities?: string[];
}

/** Linux cgroup settings; 0 or absent means "not specified" exactly as in the CRI. */
export interface LinuxContainerResources {
  cpuPeriod?: number;
  cpuQuota?: number;
  cpuShares?: number;
  memoryLimitInBytes?: number;
  oomScoreAdj?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
}

export interface EnvVar {
  key: string;
  value: string;
}

export interface ContainerMount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  propagation?: MountPropagation;
}

export interface ContainerConfig {
  metadata: { name: string; attempt?: number };
  /** Image reference as the runtime knows it, e.g. localhost/kedge/busybox:1. */
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  envs?: EnvVar[];
  mounts?: ContainerMount[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to PodSandboxConfig.logDirectory, e.g. app/0.log. */
  logPath?: string;
  stdin?: boolean;
  /** close stdin after the first attach ends (Kubernetes' stdinOnce) */
  stdinOnce?: boolean;
  tty?: boolean;
  linux?: {
    resources?: LinuxContainerResources;
    securityContext?: {
      /** absent: the runtime's default set */
      capabilities?: Capabilities;
      namespaceOptions?: NamespaceOptions;
      privileged?: boolean;
      readonlyRootfs?: boolean;
      runAsUser?: number;
      runAsGroup?: number;
      runAsUsername?: string;
      supplementalGroups?: number[];
      noNewPrivs?: boolean;
      /** absent: the runtime runs the container unconfined */
      seccomp?: SecurityProfile;
    };
  };
}

export interface RuntimeVersion {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}

export interface RuntimeStatus {
  conditions: RuntimeCondition[];
  /** Convenience views of the two required conditions. */
  runtimeReady: boolean;
  networkReady: boolean;
  /** JSON strings keyed by topic; only filled when asked for verbose status. */
  info: Record<string, string>;
}

export interface PodSandboxSummary {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: bigint;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

export interface PodSandboxStatus extends PodSandboxSummary {
  /** Empty for pods on the node's network. */
  ip: string;
  additionalIps: string[];
  namespaceOptions: NamespaceOptions | undefined;
  info: Record<string, string>;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export interface ContainerSummary {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  image: string;
  imageRef: string;
  state: ContainerState;
  createdAt: bigint;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  podSandboxId?: string;
  state?: ContainerState;
  labelSelector?: Record<string, string>;
}

export interface ContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: ContainerState;
  createdAt: bigint;
  /** 0n until the container started. */
  startedAt: bigint;
  /** 0n until the container exited. */
  finishedAt: bigint;
  exitCode: number;
  image: string;
  imageRef: string;
  /** CamelCase cause such as Completed, Error or OOMKilled. */
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: ContainerMount[];
  logPath: string;
  /** What the runtime reports it applied; undefined when the runtime does not report resources. */
  resources: LinuxContainerResources | undefined;
  /** JSON strings (e.g. info.info has pid and runtimeSpec); only filled for verbose status. */
  info: Record<string, string>;
}

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface ExecOptions {
  tty?: boolean;
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid: number | undefined;
  username: string;
  pinned: boolean;
}

/** What the runtime stores images (and, if separate, writable container layers) in, from ImageFsInfo. */
export interface FilesystemUsage {
  /** ns since the epoch when the runtime measured it */
  timestamp: bigint;
  /** where the filesystem holding the images is mounted, e.g. containerd's snapshotter root */
  mountpoint: string;
  /** bytes the images use on it; not the filesystem's total usage */
  usedBytes: number;
  inodesUsed: number;
}

export interface ImageFsInfo {
  imageFilesystems: FilesystemUsage[];
  /** empty unless the runtime keeps container layers apart from images */
  containerFilesystems: FilesystemUsage[];
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

// ---- stats (ListContainerStats, ListPodSandboxStats) ----

/** CPU usage as the runtime measured it; an absent value is one the runtime did not report. */
export interface CpuUsage {
  /** ns since the epoch when the runtime measured it */
  timestamp: bigint;
  /** cumulative CPU time over all cores since the container (or pod) started, in ns */
  usageCoreNanoSeconds?: number;
  /** the runtime's own rate over its sample window; containerd 1.6 leaves it out */
  usageNanoCores?: number;
}

export interface MemoryUsage {
  timestamp: bigint;
  workingSetBytes?: number;
  availableBytes?: number;
  usageBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface ContainerStats {
  id: string;
  /** the container's name in the pod (metadata.name) */
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
}

export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

export interface PodSandboxStats {
  id: string;
  metadata: PodSandboxMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  containers: ContainerStats[];
}

export interface PodSandboxStatsFilter {
  id?: string;
  labelSelector?: Record<string, string>;
}
