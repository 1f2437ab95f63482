// Writes core/v1 Events about the objects the controllers act on (what `kubectl describe` shows).
// The same reason and message for the same object is written once per ten minutes, so a retried
// failure does not flood the API server; a failure to write an Event is logged, never fatal.
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@kedge/telemetry';
import type { KubeObject, Meta } from '../objects';
import { errorMessage } from '../spec-error';

const REPEAT_AFTER_MS = 10 * 60_000;
const MAX_REMEMBERED = 10_000;

export interface EventTarget {
  kind: string;
  apiVersion: string;
  object: KubeObject & { metadata?: Meta };
}

export class EventRecorder {
  private readonly core: CoreV1Api;
  private readonly recent = new Map<string, number>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly component: string,
    private readonly logger: Logger,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  emit(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const metadata = target.object.metadata ?? {};
    const namespace = metadata.namespace ?? 'default';
    const dedupeKey = `${metadata.uid ?? ''}/${reason}/${message}`;
    const now = Date.now();
    const last = this.recent.get(dedupeKey);
    if (last !== undefined && now - last < REPEAT_AFTER_MS) return;
    if (this.recent.size >= MAX_REMEMBERED) this.recent.clear();
    this.recent.set(dedupeKey, now);
    const at = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      // named as upstream's recorder names them: <object>.<unique hex>
      metadata: { name: `${metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`, namespace },
      involvedObject: { apiVersion: target.apiVersion, kind: target.kind, name: metadata.name, namespace: metadata.namespace, uid: metadata.uid, resourceVersion: metadata.resourceVersion },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: this.component },
      reportingComponent: this.component,
    };
    this.core.createNamespacedEvent({ namespace, body: body as never }).catch((error: unknown) => {
      this.logger.debug({ reason, object: `${namespace}/${metadata.name ?? ''}`, error: errorMessage(error) }, 'could not write an Event');
    });
  }
}
