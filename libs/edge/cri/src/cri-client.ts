// CriClient: the CRI runtime.v1 calls edged needs, typed and camelCase, each with a deadline, each failure
// a CriError that names the call and the object. Unary calls only; Exec and Attach return the runtime's streaming URL.
import { toCriError } from './cri-error';
import type {
  ContainerConfig,
  ContainerFilter,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatus,
  ContainerSummary,
  ExecOptions,
  ExecSyncResult,
  ImageFsInfo,
  ImageInfo,
  LinuxContainerResources,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStats,
  PodSandboxStatsFilter,
  PodSandboxStatus,
  PodSandboxSummary,
  RegistryAuth,
  RuntimeStatus,
  RuntimeVersion,
} from './cri-types';
import type { CriServiceName } from './cri-transport';
import { CriTransport } from './cri-transport';
import type {
  WireContainer,
  WireContainerStats,
  WireContainerStatusResponse,
  WireImage,
  WireImageFsInfoResponse,
  WirePodSandbox,
  WirePodSandboxStats,
  WirePodSandboxStatusResponse,
  WireStatus,
  WireVersion,
} from './cri-wire';
import {
  containerConfigToWire,
  containerFromWire,
  containerStatsFromWire,
  containerStatusFromWire,
  imageFromWire,
  imageFsInfoFromWire,
  podSandboxFromWire,
  podSandboxStatsFromWire,
  podSandboxStatusFromWire,
  runtimeStatusFromWire,
  sandboxConfigToWire,
} from './cri-wire';

/** The CRI version kedge speaks; sent in VersionRequest as the kubelet does. */
export const CRI_API_VERSION = 'v1';

export interface CriClientOptions {
  /** Deadline for each call. Calls that wait on purpose (stop, exec, pull) add their own wait on top. Default 10 s. */
  timeoutMs?: number;
}

export interface CallOptions {
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// Pulling is the one call whose duration depends on the image, not the runtime.
const DEFAULT_PULL_TIMEOUT_MS = 5 * 60_000;

/** Creates a client for the CRI socket. No I/O happens until the first call, like a grpc-js channel. */
export function connectCri(socketPath: string, options: CriClientOptions = {}): CriClient {
  return new CriClient(socketPath, options);
}

export class CriClient {
  readonly socketPath: string;
  private readonly transport: CriTransport;
  private readonly timeoutMs: number;

  constructor(socketPath: string, options: CriClientOptions = {}) {
    this.socketPath = socketPath;
    this.transport = new CriTransport(socketPath);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  close(): void {
    this.transport.close();
  }

  // ---- runtime ----

  async version(): Promise<RuntimeVersion> {
    const wire = await this.call<WireVersion>('RuntimeService', 'Version', this.runtimeTarget(), { version: CRI_API_VERSION });
    return { version: wire.version, runtimeName: wire.runtimeName, runtimeVersion: wire.runtimeVersion, runtimeApiVersion: wire.runtimeApiVersion };
  }

  async status(options: { verbose?: boolean } = {}): Promise<RuntimeStatus> {
    const wire = await this.call<WireStatus>('RuntimeService', 'Status', this.runtimeTarget(), { verbose: options.verbose ?? false });
    return runtimeStatusFromWire(wire);
  }

  // ---- pod sandboxes ----

  /** Creates and starts the pod sandbox; resolves to its id. */
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    const target = `pod ${config.metadata.namespace}/${config.metadata.name}`;
    const wire = await this.call<{ podSandboxId: string }>('RuntimeService', 'RunPodSandbox', target, { config: sandboxConfigToWire(config), runtimeHandler });
    return wire.podSandboxId;
  }

  /** Idempotent: stops every container of the pod and releases its network. */
  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call('RuntimeService', 'StopPodSandbox', `sandbox ${podSandboxId}`, { podSandboxId });
  }

  /** Idempotent: also force-removes the pod's containers. */
  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call('RuntimeService', 'RemovePodSandbox', `sandbox ${podSandboxId}`, { podSandboxId });
  }

  async podSandboxStatus(podSandboxId: string, options: { verbose?: boolean } = {}): Promise<PodSandboxStatus> {
    const wire = await this.call<WirePodSandboxStatusResponse>('RuntimeService', 'PodSandboxStatus', `sandbox ${podSandboxId}`, {
      podSandboxId,
      verbose: options.verbose ?? false,
    });
    return podSandboxStatusFromWire(wire, podSandboxId);
  }

  async listPodSandbox(filter: PodSandboxFilter = {}): Promise<PodSandboxSummary[]> {
    const wireFilter = { id: filter.id, state: filter.state && { state: filter.state }, labelSelector: filter.labelSelector };
    const wire = await this.call<{ items: WirePodSandbox[] }>('RuntimeService', 'ListPodSandbox', this.runtimeTarget(), { filter: wireFilter });
    return wire.items.map(podSandboxFromWire);
  }

  // ---- containers ----

  /** sandboxConfig is the config the pod was run with; the runtime uses it (log directory, namespaces). */
  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const target = `pod ${sandboxConfig.metadata.namespace}/${sandboxConfig.metadata.name} container ${config.metadata.name}`;
    const wire = await this.call<{ containerId: string }>('RuntimeService', 'CreateContainer', target, {
      podSandboxId,
      config: containerConfigToWire(config),
      sandboxConfig: sandboxConfigToWire(sandboxConfig),
    });
    return wire.containerId;
  }

  async startContainer(containerId: string): Promise<void> {
    await this.call('RuntimeService', 'StartContainer', `container ${containerId}`, { containerId });
  }

  /** Sends the stop signal, then SIGKILL after timeoutSeconds (0 = kill at once). Idempotent. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.call('RuntimeService', 'StopContainer', `container ${containerId}`, { containerId, timeout: timeoutSeconds }, {
      timeoutMs: timeoutSeconds * 1000 + this.timeoutMs,
    });
  }

  /** Idempotent; a running container is removed by force. */
  async removeContainer(containerId: string): Promise<void> {
    await this.call('RuntimeService', 'RemoveContainer', `container ${containerId}`, { containerId });
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerSummary[]> {
    const wireFilter = {
      id: filter.id,
      podSandboxId: filter.podSandboxId,
      state: filter.state && { state: filter.state },
      labelSelector: filter.labelSelector,
    };
    const wire = await this.call<{ containers: WireContainer[] }>('RuntimeService', 'ListContainers', this.runtimeTarget(), { filter: wireFilter });
    return wire.containers.map(containerFromWire);
  }

  async containerStatus(containerId: string, options: { verbose?: boolean } = {}): Promise<ContainerStatus> {
    const wire = await this.call<WireContainerStatusResponse>('RuntimeService', 'ContainerStatus', `container ${containerId}`, {
      containerId,
      verbose: options.verbose ?? false,
    });
    return containerStatusFromWire(wire, containerId);
  }

  async updateContainerResources(containerId: string, resources: LinuxContainerResources): Promise<void> {
    await this.call('RuntimeService', 'UpdateContainerResources', `container ${containerId}`, { containerId, linux: resources });
  }

  /** Asks the runtime to reopen the container's log file, after it was rotated. */
  async reopenContainerLog(containerId: string): Promise<void> {
    await this.call('RuntimeService', 'ReopenContainerLog', `container ${containerId}`, { containerId });
  }

  /** Runs cmd in the container and waits; the runtime kills it after timeoutSeconds (default: the client deadline). */
  async execSync(containerId: string, cmd: string[], options: { timeoutSeconds?: number } = {}): Promise<ExecSyncResult> {
    const timeoutSeconds = options.timeoutSeconds ?? Math.ceil(this.timeoutMs / 1000);
    const wire = await this.call<{ stdout: Buffer; stderr: Buffer; exitCode: number }>(
      'RuntimeService',
      'ExecSync',
      `container ${containerId}`,
      { containerId, cmd, timeout: timeoutSeconds },
      { timeoutMs: timeoutSeconds * 1000 + this.timeoutMs },
    );
    return { stdout: Buffer.from(wire.stdout), stderr: Buffer.from(wire.stderr), exitCode: wire.exitCode };
  }

  /** Prepares an interactive exec and returns the runtime's streaming-server URL (the caller speaks SPDY/WebSocket to it). */
  async exec(containerId: string, cmd: string[], options: ExecOptions = {}): Promise<string> {
    const request = {
      containerId,
      cmd,
      tty: options.tty ?? false,
      stdin: options.stdin ?? false,
      stdout: options.stdout ?? true,
      // With a TTY the runtime merges stderr into stdout; asking for both is an error.
      stderr: options.stderr ?? !(options.tty ?? false),
    };
    const wire = await this.call<{ url: string }>('RuntimeService', 'Exec', `container ${containerId}`, request);
    return wire.url;
  }

  /** Prepares an attach to the container's own stdio (its main process) and returns the runtime's streaming-server URL. */
  async attach(containerId: string, options: ExecOptions = {}): Promise<string> {
    const request = {
      containerId,
      tty: options.tty ?? false,
      stdin: options.stdin ?? false,
      stdout: options.stdout ?? true,
      stderr: options.stderr ?? !(options.tty ?? false),
    };
    const wire = await this.call<{ url: string }>('RuntimeService', 'Attach', `container ${containerId}`, request);
    return wire.url;
  }

  // ---- stats ----

  /** CPU and memory of the runtime's containers (containerd: of every container it knows, running or not). */
  async listContainerStats(filter: ContainerStatsFilter = {}): Promise<ContainerStats[]> {
    const wire = await this.call<{ stats: WireContainerStats[] }>('RuntimeService', 'ListContainerStats', this.runtimeTarget(), { filter });
    return wire.stats.map(containerStatsFromWire);
  }

  /**
   * CPU and memory of pod sandboxes, with their containers. Runtimes that do not implement it answer
   * UNIMPLEMENTED (a CriError with that code); callers fall back to ListContainerStats.
   */
  async listPodSandboxStats(filter: PodSandboxStatsFilter = {}): Promise<PodSandboxStats[]> {
    const wire = await this.call<{ stats: WirePodSandboxStats[] }>('RuntimeService', 'ListPodSandboxStats', this.runtimeTarget(), { filter });
    return wire.stats.map(podSandboxStatsFromWire);
  }

  // ---- images ----

  /** All images, or those known by filterImage (a tag, digest reference or id). */
  async listImages(filterImage?: string): Promise<ImageInfo[]> {
    const filter = filterImage ? { image: { image: filterImage } } : undefined;
    const wire = await this.call<{ images: WireImage[] }>('ImageService', 'ListImages', this.runtimeTarget(), { filter });
    const images = wire.images.map(imageFromWire);
    // Runtimes may ignore the filter (containerd 1.6 does), so apply it here as well.
    return filterImage ? images.filter((image) => image.id === filterImage || image.repoTags.includes(filterImage) || image.repoDigests.includes(filterImage)) : images;
  }

  /** Resolves to undefined when the image is not present (the CRI answers, it does not fail). */
  async imageStatus(image: string): Promise<ImageInfo | undefined> {
    const wire = await this.call<{ image: WireImage | null }>('ImageService', 'ImageStatus', `image ${image}`, { image: { image }, verbose: false });
    return wire.image && wire.image.id ? imageFromWire(wire.image) : undefined;
  }

  /** Resolves to the image reference (id) the runtime stored. */
  async pullImage(image: string, options: { auth?: RegistryAuth; sandboxConfig?: PodSandboxConfig; timeoutMs?: number } = {}): Promise<string> {
    const request = { image: { image }, auth: options.auth, sandboxConfig: options.sandboxConfig && sandboxConfigToWire(options.sandboxConfig) };
    const wire = await this.call<{ imageRef: string }>('ImageService', 'PullImage', `image ${image}`, request, {
      timeoutMs: options.timeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
    });
    return wire.imageRef;
  }

  /** Idempotent. Removing by one tag removes every tag of the same image. */
  async removeImage(image: string): Promise<void> {
    await this.call('ImageService', 'RemoveImage', `image ${image}`, { image: { image } });
  }

  /** Usage of the filesystem(s) the runtime keeps images on; capacity is not part of the CRI answer. */
  async imageFsInfo(): Promise<ImageFsInfo> {
    const wire = await this.call<WireImageFsInfoResponse>('ImageService', 'ImageFsInfo', this.runtimeTarget(), {});
    return imageFsInfoFromWire(wire);
  }

  // ---- plumbing ----

  private runtimeTarget(): string {
    return `runtime at ${this.socketPath}`;
  }

  private async call<Response = unknown>(
    service: CriServiceName,
    method: string,
    target: string,
    request: object,
    options: CallOptions = {},
  ): Promise<Response> {
    try {
      return await this.transport.unary<Response>(service, method, request, options.timeoutMs ?? this.timeoutMs);
    } catch (error) {
      throw toCriError(error, method, target, this.socketPath);
    }
  }
}
