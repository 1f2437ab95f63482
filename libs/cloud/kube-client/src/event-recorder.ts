// Writes core/v1 Events about the objects a controller acts on (what `kubectl describe` shows), with
// count aggregation as client-go's recorder does: the same type, reason and message for the same
// object is one Event whose `count` and `lastTimestamp` grow. A repeat is written at most once per
// `patchIntervalMs` (later repeats are counted meanwhile and written when it has passed), so a
// failure retried in a loop does not flood the API server. A failure to write an Event is logged,
// never fatal: Events are for people, not for controllers.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { ObjectMeta } from '@kedge/kube-core';
import type { Logger } from '@kedge/telemetry';
import { errorMessage, isNotFound } from './errors';
import { rfc3339 } from './kube-time';
import { mergePatch } from './merge-patch';

const MAX_SERIES = 10_000;

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about; kind and apiVersion because informer objects may lack them. */
export interface EventTarget {
  kind: string;
  apiVersion: string;
  /** what the Event's involvedObject is built from; raw JSON or a client-node model alike */
  object: { metadata?: Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'resourceVersion'> };
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  /** source.component and reportingComponent, e.g. "default-scheduler" */
  component: string;
  logger: Logger;
  /** least time between two writes of one Event (default 60 000 ms) */
  patchIntervalMs?: number;
  now?: () => number;
}

/** One aggregated Event: what the API server has, and what happened since. */
interface EventSeries {
  namespace: string;
  target: EventTarget;
  type: EventType;
  reason: string;
  message: string;
  /** the Event's name once created */
  name: string | undefined;
  count: number;
  /** the count the API server has (or that we gave up writing) */
  written: number;
  firstAt: number;
  lastAt: number;
  lastWriteAt: number;
  writing: boolean;
  timer: NodeJS.Timeout | undefined;
}

export class EventRecorder {
  private readonly core: CoreV1Api;
  private readonly series = new Map<string, EventSeries>();
  private readonly patchIntervalMs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: EventRecorderOptions) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.patchIntervalMs = options.patchIntervalMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  emit(target: EventTarget, type: EventType, reason: string, message: string): void {
    if (this.closed) return;
    const metadata = target.object.metadata ?? {};
    const key = `${metadata.uid ?? `${metadata.namespace ?? ''}/${metadata.name ?? ''}`}/${type}/${reason}/${message}`;
    const now = this.now();
    let series = this.series.get(key);
    if (series === undefined) {
      if (this.series.size >= MAX_SERIES) this.forgetOldest();
      series = { namespace: metadata.namespace ?? 'default', target, type, reason, message, name: undefined, count: 0, written: 0, firstAt: now, lastAt: now, lastWriteAt: 0, writing: false, timer: undefined };
    }
    // most recently seen last, so the oldest series is the one forgotten when the map is full
    this.series.delete(key);
    this.series.set(key, series);
    series.count += 1;
    series.lastAt = now;
    series.target = target;
    this.schedule(series);
  }

  /** Stops writing; counts not written yet are dropped. */
  close(): void {
    this.closed = true;
    for (const series of this.series.values()) if (series.timer !== undefined) clearTimeout(series.timer);
    this.series.clear();
  }

  private forgetOldest(): void {
    const oldest = this.series.keys().next();
    if (oldest.done === true) return;
    const series = this.series.get(oldest.value);
    if (series?.timer !== undefined) clearTimeout(series.timer);
    this.series.delete(oldest.value);
  }

  private schedule(series: EventSeries): void {
    if (this.closed || series.writing || series.timer !== undefined || series.count <= series.written) return;
    const waitMs = series.name === undefined ? 0 : series.lastWriteAt + this.patchIntervalMs - this.now();
    if (waitMs <= 0) {
      void this.write(series);
      return;
    }
    series.timer = setTimeout(() => {
      series.timer = undefined;
      void this.write(series);
    }, waitMs);
    series.timer.unref();
  }

  private async write(series: EventSeries): Promise<void> {
    if (this.closed) return;
    series.writing = true;
    const count = series.count;
    try {
      if (series.name !== undefined) {
        try {
          const body = { count, lastTimestamp: rfc3339(new Date(series.lastAt)) };
          await this.core.patchNamespacedEvent({ name: series.name, namespace: series.namespace, body }, mergePatch());
          return;
        } catch (error) {
          // the Event expired (the API server keeps them for an hour): the series goes on in a new one
          if (!isNotFound(error)) throw error;
        }
      }
      series.name = await this.create(series, count);
    } catch (error) {
      const { namespace, reason } = series;
      this.options.logger.debug({ reason, object: `${namespace}/${series.target.object.metadata?.name ?? ''}`, error: errorMessage(error) }, 'could not write an Event');
    } finally {
      series.written = count;
      series.lastWriteAt = this.now();
      series.writing = false;
      this.schedule(series);
    }
  }

  private async create(series: EventSeries, count: number): Promise<string> {
    const { target, namespace } = series;
    const metadata = target.object.metadata ?? {};
    // named as upstream's recorder names them: <object>.<unique hex>
    const name = `${metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    const { component } = this.options;
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: metadata.name, namespace: metadata.namespace, uid: metadata.uid, resourceVersion: metadata.resourceVersion },
      reason: series.reason,
      message: series.message,
      type: series.type,
      count,
      firstTimestamp: rfc3339(new Date(series.firstAt)),
      lastTimestamp: rfc3339(new Date(series.lastAt)),
      source: { component },
      reportingComponent: component,
    };
    await this.core.createNamespacedEvent({ namespace, body: body as unknown as CoreV1Event });
    return name;
  }
}
