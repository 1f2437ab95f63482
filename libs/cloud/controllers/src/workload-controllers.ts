// Starts the scheduler and the ReplicaSet, Deployment and DaemonSet controllers against any API
// server reachable through a client-node KubeConfig, the way kube-controller-manager and
// kube-scheduler run in-process in K3s. They share one informer per resource.
import type { KubeConfig } from '@kubernetes/client-node';
import { DEFAULT_INFORMER_BACKOFF, EventRecorder, type InformerBackoff, type WorkQueue } from '@kedge/kube-client';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { DaemonSetController } from './daemonset/daemonset-controller';
import { DeploymentController } from './deployment/deployment-controller';
import { CronJobController } from './cronjob/cronjob-controller';
import { JobController } from './job/job-controller';
import { StatefulSetController } from './statefulset/statefulset-controller';
import { DisruptionController, createDisruptionInformers } from './disruption/disruption-controller';
import { ReplicaSetController } from './replicaset/replicaset-controller';
import { ControllerMetrics } from './runtime/controller-metrics';
import { createApiClients, createInformers, type ControllerContext } from './runtime/controller-context';
import { Scheduler } from './scheduling/scheduler';

export type WorkloadControllerName = 'scheduler' | 'replicaset' | 'deployment' | 'daemonset' | 'job' | 'cronjob' | 'statefulset' | 'disruption';

export interface StartWorkloadControllersParams {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  /** which to run (default all) */
  controllers?: readonly WorkloadControllerName[];
  informerBackoff?: InformerBackoff;
  /** first retry delay of a failed key (doubles per failure up to maxDelayMs); default 100 ms / 5 min */
  queueBackoff?: { baseDelayMs: number; maxDelayMs: number };
  now?: () => number;
  /** delay before a Job replaces failed pods, doubling per failure; default 10 s up to 6 min (upstream) */
  jobPodFailureBackoff?: { baseMs: number; maxMs: number };
}

export interface WorkloadControllers {
  /** resolves once every informer has listed */
  ready: Promise<void>;
  /** resolves when every work queue is empty and idle (tests) */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export function startWorkloadControllers(params: StartWorkloadControllersParams): WorkloadControllers {
  const logger = params.logger.child({ module: 'workload-controllers' });
  const metrics = new ControllerMetrics(params.registry);
  const informers = createInformers(params.kubeConfig, logger, params.informerBackoff ?? DEFAULT_INFORMER_BACKOFF);
  const events = new EventRecorder({ kubeConfig: params.kubeConfig, component: 'kedge-controller-manager', logger });
  const schedulerEvents = new EventRecorder({ kubeConfig: params.kubeConfig, component: 'default-scheduler', logger });
  const context: ControllerContext = {
    logger,
    metrics,
    events,
    ...createApiClients(params.kubeConfig),
    informers,
    now: params.now ?? Date.now,
    queueBackoff: params.queueBackoff ?? { baseDelayMs: 100, maxDelayMs: 300_000 },
  };
  const wanted = new Set(params.controllers ?? ['scheduler', 'replicaset', 'deployment', 'daemonset', 'job', 'cronjob', 'statefulset', 'disruption']);
  const queues: WorkQueue[] = [];
  if (wanted.has('scheduler')) queues.push(new Scheduler({ ...context, events: schedulerEvents }).queue);
  if (wanted.has('replicaset')) queues.push(new ReplicaSetController(context).queue);
  if (wanted.has('deployment')) queues.push(new DeploymentController(context).queue);
  if (wanted.has('daemonset')) queues.push(new DaemonSetController(context).queue);
  if (wanted.has('job')) queues.push(new JobController(context, { podFailureBackoff: params.jobPodFailureBackoff ?? { baseMs: 10_000, maxMs: 360_000 } }).queue);
  if (wanted.has('cronjob')) queues.push(new CronJobController(context).queue);
  if (wanted.has('statefulset')) queues.push(new StatefulSetController(context).queue);
  const all: Array<{ informer: { start(): Promise<void>; stop(): Promise<void> } }> = Object.values(informers);
  if (wanted.has('disruption')) {
    const own = createDisruptionInformers(params.kubeConfig, logger, params.informerBackoff ?? DEFAULT_INFORMER_BACKOFF);
    queues.push(new DisruptionController(context, own, params.kubeConfig).queue);
    all.push(...Object.values(own));
  }
  const ready = Promise.all(all.map((shared) => shared.informer.start())).then(() => {
    logger.info({ controllers: [...wanted] }, 'workload controllers and scheduler running');
  });
  return {
    ready,
    async idle() {
      await Promise.all(queues.map((queue) => queue.idle()));
    },
    async close() {
      for (const queue of queues) queue.stop();
      await Promise.allSettled(all.map((shared) => shared.informer.stop()));
      await Promise.all(queues.map((queue) => queue.idle()));
      events.close();
      schedulerEvents.close();
      metrics.remove();
    },
  };
}
