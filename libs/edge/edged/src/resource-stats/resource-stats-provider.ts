// ResourceStatsProvider: one call collects the node's and every running pod's CPU and memory (CRI
// ListContainerStats, ListPodSandboxStats where the runtime answers it, ListPodSandbox and ListContainers
// for identities and start times, /proc and the root cgroup for the node) into the kubelet's Summary.
// Concurrent callers share one collection.
import { CriError, type CriClient, type PodSandboxStats } from '@kedge/cri';
import type { Logger } from '@kedge/telemetry';
import { CpuRateTracker } from './cpu-rate';
import { NodeUsageReader, type NodeUsageSources } from './node-usage';
import { buildPodStats } from './pod-stats';
import type { NodeStats, Summary } from './summary';

export interface ResourceStatsProviderOptions {
  /** the runtime edged's pods run on, read at each collection; undefined (no runtime, pods off): the summary has the node only */
  runtime: () => CriClient | undefined;
  nodeName: string;
  logger: Logger;
  nodeUsage?: NodeUsageSources;
  now?: () => Date;
}

export class ResourceStatsProvider {
  private readonly rates = new CpuRateTracker();
  private readonly nodeReader: NodeUsageReader;
  private inFlight: Promise<Summary> | undefined;
  /** false once the runtime said it has no ListPodSandboxStats; pods are then summed from containers */
  private sandboxStatsSupported = true;
  private sandboxStatsFailureLogged = false;

  constructor(private readonly options: ResourceStatsProviderOptions) {
    this.nodeReader = new NodeUsageReader(options.nodeUsage);
  }

  /** @throws CriError when the runtime does not answer, NodeUsageParseError when /proc cannot be read */
  summary(): Promise<Summary> {
    this.inFlight ??= this.collect().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async collect(): Promise<Summary> {
    const now = (this.options.now ?? (() => new Date()))();
    const usage = await this.nodeReader.read(now);
    const node: NodeStats = { nodeName: this.options.nodeName, startTime: usage.startTime };
    if (usage.cpu) {
      node.cpu = usage.cpu;
      const nowNanos = BigInt(now.getTime()) * 1_000_000n;
      const rate = this.rates.rate('node', { usageCoreNanoSeconds: usage.cpu.usageCoreNanoSeconds ?? 0, timestampNanos: nowNanos });
      if (rate !== undefined) node.cpu.usageNanoCores = rate;
    }
    if (usage.memory) node.memory = usage.memory;
    const cri = this.options.runtime();
    if (cri === undefined) {
      this.rates.endRound();
      return { node, pods: [] };
    }
    const [sandboxes, containers, containerStats, sandboxStats] = await Promise.all([
      cri.listPodSandbox(),
      cri.listContainers(),
      cri.listContainerStats(),
      this.sandboxStats(cri),
    ]);
    const pods = buildPodStats({ sandboxes, containers, containerStats, sandboxStats }, this.rates);
    this.rates.endRound();
    return { node, pods };
  }

  private async sandboxStats(cri: CriClient): Promise<PodSandboxStats[] | undefined> {
    if (!this.sandboxStatsSupported) return undefined;
    try {
      return await cri.listPodSandboxStats();
    } catch (error) {
      if (error instanceof CriError && error.code === 'UNIMPLEMENTED') this.sandboxStatsSupported = false;
      // containerd 1.6 implements it but fails for sandboxes without a pod cgroup (edged sets none)
      if (!this.sandboxStatsFailureLogged) {
        this.sandboxStatsFailureLogged = true;
        this.options.logger.info({ error: (error as Error).message }, 'the runtime cannot give pod sandbox stats; pod figures are the sums of their containers');
      }
      return undefined;
    }
  }
}
