// What every workload controller shares: the informers (one SharedInformer per resource, fed to every
// interested controller), the typed API clients, Events, metrics, and a factory for their work queues.
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  DEFAULT_INFORMER_BACKOFF,
  KubeJson,
  SharedInformer,
  WorkQueue,
  errorMessage,
  httpStatusOf,
  type EventRecorder,
  type EventTarget,
  type InformerBackoff,
  type ReconcileOutcome,
} from '@kedge/kube-client';
import type { Logger } from '@kedge/telemetry';
import type { KubeObject } from '@kedge/kube-core';
import type { ControllerRevision, CronJob, DaemonSet, Deployment, Job, Node, Pod, ReplicaSet, StatefulSet } from '../objects';
import { InvalidSpecError } from '../spec-error';
import type { ControllerMetrics } from './controller-metrics';

export interface Informers {
  pods: SharedInformer<Pod>;
  nodes: SharedInformer<Node>;
  replicaSets: SharedInformer<ReplicaSet>;
  deployments: SharedInformer<Deployment>;
  daemonSets: SharedInformer<DaemonSet>;
  jobs: SharedInformer<Job>;
  cronJobs: SharedInformer<CronJob>;
  statefulSets: SharedInformer<StatefulSet>;
  controllerRevisions: SharedInformer<ControllerRevision>;
}

export interface ControllerContext {
  logger: Logger;
  metrics: ControllerMetrics;
  events: EventRecorder;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  informers: Informers;
  now: () => number;
  queueBackoff: { baseDelayMs: number; maxDelayMs: number };
}

export function createInformers(kubeConfig: KubeConfig, logger: Logger, backoff: InformerBackoff = DEFAULT_INFORMER_BACKOFF): Informers {
  const json = new KubeJson(kubeConfig);
  const make = <T extends KubeObject>(resource: string, path: string) => new SharedInformer<T>({ kubeConfig, json, resource, path, logger, backoff });
  return {
    pods: make<Pod>('pods', '/api/v1/pods'),
    nodes: make<Node>('nodes', '/api/v1/nodes'),
    replicaSets: make<ReplicaSet>('replicasets', '/apis/apps/v1/replicasets'),
    deployments: make<Deployment>('deployments', '/apis/apps/v1/deployments'),
    daemonSets: make<DaemonSet>('daemonsets', '/apis/apps/v1/daemonsets'),
    jobs: make<Job>('jobs', '/apis/batch/v1/jobs'),
    cronJobs: make<CronJob>('cronjobs', '/apis/batch/v1/cronjobs'),
    statefulSets: make<StatefulSet>('statefulsets', '/apis/apps/v1/statefulsets'),
    controllerRevisions: make<ControllerRevision>('controllerrevisions', '/apis/apps/v1/controllerrevisions'),
  };
}

export function createApiClients(kubeConfig: KubeConfig): { core: CoreV1Api; apps: AppsV1Api; batch: BatchV1Api } {
  return { core: kubeConfig.makeApiClient(CoreV1Api), apps: kubeConfig.makeApiClient(AppsV1Api), batch: kubeConfig.makeApiClient(BatchV1Api) };
}

/**
 * A work queue for one controller. `describe` turns a key into the object an InvalidSpecError is
 * about, so the Event lands on it; such an object is retried with backoff (its next edit re-queues it at once).
 */
export function createControllerQueue(
  context: ControllerContext,
  controller: string,
  reconcile: (key: string) => Promise<ReconcileOutcome>,
  describe: (key: string) => EventTarget | undefined,
  workers = 2,
): WorkQueue {
  const logger = context.logger.child({ controller });
  return new WorkQueue({
    name: controller,
    logger,
    reconcile,
    workers,
    ...context.queueBackoff,
    classifyFailure: (key, error, failures) => {
      // the first failure of a key and every tenth after it are warnings; the retries between are debug
      const level = failures % 10 === 1 ? 'warn' : 'debug';
      if (error instanceof InvalidSpecError) {
        context.metrics.invalidSpecs.inc({ controller, field: error.field });
        logger[level]({ object: key, field: error.field, error: error.detail, failures }, 'invalid spec; retrying with backoff until it changes');
        const target = describe(key);
        if (target !== undefined) context.events.emit(target, 'Warning', 'InvalidSpec', error.message);
        return 'invalid';
      }
      const status = httpStatusOf(error);
      if (status === 409) {
        // our cache was behind the server: the watch brings the newer object and we go again
        logger.debug({ object: key, error: errorMessage(error) }, 'conflict; retrying');
        return 'conflict';
      }
      logger[level]({ object: key, status, error: errorMessage(error), failures }, 'reconcile failed; retrying with backoff');
      return 'error';
    },
    onResult: (result) => context.metrics.reconciles.inc({ controller, result }),
    onDepth: (depth) => context.metrics.queueDepth.set({ controller }, depth),
  });
}
