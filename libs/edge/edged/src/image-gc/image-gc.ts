// ImageGarbageCollector: keeps the image filesystem of a small gateway below a threshold the way the
// kubelet does. Each period it reads the runtime's image filesystem (CRI ImageFsInfo, capacity from statfs),
// and above highThresholdPercent removes images no container references, least recently used first, each
// unused for at least minimumAge, until usage is down to lowThresholdPercent. The pod sandbox image and
// pinned images are never removed. "Last used" lives in memory: after an edgecore restart every image's
// age starts again from the restart, exactly as after a kubelet restart.
import { statfs } from 'node:fs/promises';
import type { ContainerSummary, CriClient, ImageInfo } from '@kedge/cri';
import { Group, Operation, newMessage } from '@kedge/protocol';
import type { Logger } from '@kedge/telemetry';
import type { StatusReporter } from '../node-status-reporter';
import { ImageGcMetrics, type ImageGcRunResult } from './image-gc-metrics';
import { bytesToFree, planImageRemoval, usageRatio, type FilesystemCapacity, type RemovalCandidate } from './image-selection';

export interface ImageGcPolicy {
  /** collect when the image filesystem is at least this full (kubelet: 85) */
  highThresholdPercent: number;
  /** collect down to this (kubelet: 80); below highThresholdPercent */
  lowThresholdPercent: number;
  /** an image must have been unused this long before it is removed (kubelet: 2 min) */
  minimumAgeSeconds: number;
  /** kubelet: 5 min */
  periodSeconds: number;
}

export const DEFAULT_IMAGE_GC_POLICY: ImageGcPolicy = { highThresholdPercent: 85, lowThresholdPercent: 80, minimumAgeSeconds: 120, periodSeconds: 300 };

export interface ImageGarbageCollectorOptions {
  cri: Pick<CriClient, 'imageFsInfo' | 'listImages' | 'listContainers' | 'removeImage' | 'status'>;
  logger: Logger;
  nodeName: string;
  policy?: Partial<ImageGcPolicy>;
  /** the pause image, kept when the runtime does not name its own (containerd does, in verbose Status) */
  sandboxImage?: string;
  metrics?: ImageGcMetrics;
  /** where Node events go (MetaManager's outbox); no events without it */
  reporter?: StatusReporter;
  now?: () => number;
}

export interface RemovedImage {
  id: string;
  repoTags: string[];
  size: number;
}

export interface ImageGcRun {
  result: ImageGcRunResult;
  usageRatio?: number;
  bytesToFree: number;
  removed: RemovedImage[];
  freedBytes: number;
  error?: string;
}

/** Thrown (and caught by the period loop) when the runtime's answer cannot be used. */
export class ImageFilesystemUnknownError extends Error {
  override readonly name = 'ImageFilesystemUnknownError';
}

interface ImageRecord {
  lastUsedMs: number;
  /** undefined while a container references the image */
  unusedSinceMs: number | undefined;
}

export const IMAGE_GC_SOURCE = 'edged';

export class ImageGarbageCollector {
  readonly policy: ImageGcPolicy;
  private readonly records = new Map<string, ImageRecord>();
  private readonly metrics: ImageGcMetrics;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<ImageGcRun> | undefined;
  private starting: Promise<ImageGcRun> | undefined;
  private stopped = false;
  private lastRunFailed = false;

  constructor(private readonly options: ImageGarbageCollectorOptions) {
    this.policy = { ...DEFAULT_IMAGE_GC_POLICY, ...options.policy };
    // equal thresholds are allowed here so tests can force a collection down to 0 %; edgecore's config requires low < high
    if (this.policy.lowThresholdPercent > this.policy.highThresholdPercent) {
      throw new RangeError(`image GC lowThresholdPercent (${this.policy.lowThresholdPercent}) must not be above highThresholdPercent (${this.policy.highThresholdPercent})`);
    }
    this.metrics = options.metrics ?? new ImageGcMetrics();
    this.now = options.now ?? Date.now;
  }

  /**
   * Records which images are in use now and runs the first period at once (as the kubelet does), then one
   * every periodSeconds. Never rejects: a failed period is logged, counted and retried at the next one.
   */
  start(): Promise<ImageGcRun> {
    this.starting ??= this.collect().finally(() => this.schedule());
    return this.starting;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One period: measure, and remove images if the filesystem is above the high threshold. */
  collect(): Promise<ImageGcRun> {
    this.running ??= this.collectOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.collect().finally(() => this.schedule());
    }, this.policy.periodSeconds * 1000);
    this.timer.unref();
  }

  private async collectOnce(): Promise<ImageGcRun> {
    const { logger } = this.options;
    try {
      const run = await this.collectImages();
      this.metrics.runs.inc({ result: run.result });
      this.lastRunFailed = false;
      return run;
    } catch (error) {
      const message = errorText(error);
      this.metrics.runs.inc({ result: 'error' });
      logger.error({ error: message }, `image GC failed: ${message}; retrying in ${this.policy.periodSeconds} s`);
      // one event per outage, not one per period while the runtime is down
      if (!this.lastRunFailed) this.emitNodeEvent('Warning', 'ImageGCFailed', `image garbage collection failed: ${message}`);
      this.lastRunFailed = true;
      return { result: 'error', bytesToFree: 0, removed: [], freedBytes: 0, error: message };
    }
  }

  private async collectImages(): Promise<ImageGcRun> {
    const { cri, logger } = this.options;
    const fsInfo = await cri.imageFsInfo();
    const mountpoint = fsInfo.imageFilesystems[0]?.mountpoint;
    if (!mountpoint) throw new ImageFilesystemUnknownError('the runtime reported no image filesystem (ImageFsInfo returned no mountpoint)');
    const capacity = await readFilesystemCapacity(mountpoint);
    const ratio = usageRatio(capacity);
    this.metrics.usageRatio.set(ratio);
    const { images, inUse } = await this.detectImages();
    const amount = bytesToFree(capacity, this.policy);
    if (amount === 0) return { result: 'below-threshold', usageRatio: ratio, bytesToFree: 0, removed: [], freedBytes: 0 };

    const keep = await this.sandboxImageIds(images);
    const candidates: RemovalCandidate[] = images
      .filter((image) => !inUse.has(image.id) && !keep.has(image.id) && !image.pinned)
      .map((image) => {
        const record = this.records.get(image.id);
        return { id: image.id, repoTags: image.repoTags, size: image.size, lastUsedMs: record?.lastUsedMs ?? 0, unusedSinceMs: record?.unusedSinceMs ?? this.now() };
      });
    const plan = planImageRemoval(candidates, amount, this.now(), this.policy.minimumAgeSeconds * 1000);
    const percent = Math.round(ratio * 100);
    const reason = `image filesystem ${mountpoint} is ${percent}% used (high threshold ${this.policy.highThresholdPercent}%); freeing ${amount} bytes to reach ${this.policy.lowThresholdPercent}%`;
    logger.info({ usagePercent: percent, bytesToFree: amount, candidates: candidates.length, planned: plan.images.length, tooYoung: plan.tooYoung.length }, 'image GC: above the high threshold');

    const removed: RemovedImage[] = [];
    for (const image of plan.images) {
      try {
        await cri.removeImage(image.id);
      } catch (error) {
        logger.warn({ image: imageName(image), id: image.id, error: errorText(error) }, 'image GC could not remove an image; trying the next one');
        continue;
      }
      this.records.delete(image.id);
      removed.push({ id: image.id, repoTags: image.repoTags, size: image.size });
      this.metrics.removedBytes.inc(image.size);
      logger.info({ image: imageName(image), id: image.id, size: image.size, reason }, 'image GC removed an unused image');
    }
    const freedBytes = removed.reduce((sum, image) => sum + image.size, 0);
    if (removed.length > 0) {
      this.emitNodeEvent('Normal', 'ImageGCFreedSpace', `removed ${removed.length} unused image(s) (${removed.map(imageName).join(', ')}), ${freedBytes} bytes: ${reason}`);
    }
    if (freedBytes >= amount) return { result: 'freed', usageRatio: ratio, bytesToFree: amount, removed, freedBytes };
    // the kubelet's own reason and wording, so alerts written for kubelets match
    const message = `Failed to garbage collect required amount of images. Attempted to free ${amount} bytes, but only found ${freedBytes} bytes eligible to free.`;
    logger.warn({ bytesToFree: amount, freedBytes, tooYoung: plan.tooYoung.map(imageName) }, message);
    this.emitNodeEvent('Warning', 'FreeDiskSpaceFailed', message);
    return { result: 'insufficient', usageRatio: ratio, bytesToFree: amount, removed, freedBytes };
  }

  /** Refreshes "last used" and "unused since" from the runtime's images and containers. */
  private async detectImages(): Promise<{ images: ImageInfo[]; inUse: Set<string> }> {
    const { cri } = this.options;
    const [images, containers] = await Promise.all([cri.listImages(), cri.listContainers()]);
    const inUse = imagesInUse(images, containers);
    const now = this.now();
    for (const image of images) {
      const record = this.records.get(image.id) ?? { lastUsedMs: 0, unusedSinceMs: undefined };
      if (inUse.has(image.id)) {
        record.lastUsedMs = now;
        record.unusedSinceMs = undefined;
      } else {
        record.unusedSinceMs ??= now;
      }
      this.records.set(image.id, record);
    }
    const present = new Set(images.map((image) => image.id));
    for (const id of this.records.keys()) if (!present.has(id)) this.records.delete(id);
    return { images, inUse };
  }

  /** The runtime's sandbox image (containerd reports it in verbose Status), else edged's configured one. */
  private async sandboxImageIds(images: ImageInfo[]): Promise<Set<string>> {
    const references = new Set<string>();
    if (this.options.sandboxImage) references.add(this.options.sandboxImage);
    try {
      const status = await this.options.cri.status({ verbose: true });
      const criConfig = JSON.parse(status.info['config'] ?? '{}') as { sandboxImage?: unknown };
      if (typeof criConfig.sandboxImage === 'string' && criConfig.sandboxImage) references.add(criConfig.sandboxImage);
    } catch (error) {
      this.options.logger.debug({ error: errorText(error) }, 'the runtime does not report its sandbox image; keeping the configured one');
    }
    const ids = new Set<string>();
    for (const reference of references) for (const image of images) if (imageMatches(image, reference)) ids.add(image.id);
    return ids;
  }

  private emitNodeEvent(type: 'Normal' | 'Warning', reason: string, message: string): void {
    const { reporter, nodeName, logger } = this.options;
    if (!reporter) return;
    const timestamp = new Date(this.now()).toISOString();
    const name = `${nodeName}.${this.now().toString(16)}`;
    const event = {
      metadata: { name, namespace: 'default' },
      // the kubelet names its Node as the uid of node events
      involvedObject: { kind: 'Node', name: nodeName, uid: nodeName },
      type,
      reason,
      message,
      source: { component: 'kubelet', host: nodeName },
      reportingComponent: 'kubelet',
      reportingInstance: nodeName,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    try {
      reporter.report(newMessage({ source: IMAGE_GC_SOURCE, group: Group.Resource, operation: Operation.Insert, resource: `default/event/${name}`, content: event }));
    } catch (error) {
      logger.warn({ error: errorText(error), reason }, 'could not queue a node event');
    }
  }
}

/** Ids of the images some container (running or not) was created from. */
export function imagesInUse(images: ImageInfo[], containers: ContainerSummary[]): Set<string> {
  const inUse = new Set<string>();
  for (const container of containers) {
    for (const reference of [container.imageRef, container.image]) {
      if (!reference) continue;
      for (const image of images) if (imageMatches(image, reference)) inUse.add(image.id);
    }
  }
  return inUse;
}

function imageMatches(image: ImageInfo, reference: string): boolean {
  const normalized = normalizeReference(reference);
  return image.id === reference || image.repoTags.some((tag) => tag === reference || tag === normalized) || image.repoDigests.some((digest) => digest === reference || digest === normalized);
}

// `pause:3.6` in a runtime config means `docker.io/library/pause:3.6`, which is how containerd tags it
function normalizeReference(reference: string): string {
  if (reference.startsWith('sha256:')) return reference;
  const firstSlash = reference.indexOf('/');
  const domain = firstSlash === -1 ? '' : reference.slice(0, firstSlash);
  const hasDomain = domain.includes('.') || domain.includes(':') || domain === 'localhost';
  let named = hasDomain ? reference : `docker.io/${firstSlash === -1 ? `library/${reference}` : reference}`;
  const lastPart = named.slice(named.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !named.includes('@')) named += ':latest';
  return named;
}

async function readFilesystemCapacity(mountpoint: string): Promise<FilesystemCapacity> {
  const stats = await statfs(mountpoint);
  // bavail, not bfree: what is left for unprivileged writers, as cadvisor reports "available"
  return { capacityBytes: stats.blocks * stats.bsize, availableBytes: stats.bavail * stats.bsize };
}

function imageName(image: { id: string; repoTags: string[] }): string {
  return image.repoTags[0] ?? image.id;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
