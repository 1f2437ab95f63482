// apps/v1 workloads: Deployment, ReplicaSet, DaemonSet, StatefulSet, and ControllerRevisions. They are
// stored and served with kube-apiserver's defaults and validation, so `kubectl apply` round-trips; the
// workload controllers of @kedge/controllers act on them (cloudcore runs those in embedded mode).
import { isRecord, recordAt, type KubeObject, type TableConverter } from '@kedge/kube-core';
import { toStatusCauses, validateControllerRevision, validateWorkload, type WorkloadKind } from '../validation';
import { controllerRevisionTable, daemonSetTable, deploymentTable, replicaSetTable, statefulSetTable } from '../tables';
import { defineBuiltin } from './builtin-type';
import { defaultPodSpec } from './core-resources';
import type { ResourceType } from './resource-type';

const DEFAULT_REVISION_HISTORY_LIMIT = 10;
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/** A nested object, created when absent (defaulting fills in `spec.strategy.rollingUpdate` and the like). */
function objectField(parent: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  if (parent[field] === undefined || parent[field] === null) parent[field] = {};
  const value = parent[field];
  return isRecord(value) ? value : undefined;
}

function defaultTemplate(spec: Record<string, unknown>): void {
  const podSpec = recordAt(spec, ['template', 'spec']);
  if (podSpec !== undefined) defaultPodSpec(podSpec);
}

/** SetDefaults_Deployment of apps/v1. */
function defaultDeployment(spec: Record<string, unknown>): void {
  spec['replicas'] ??= 1;
  const strategy = objectField(spec, 'strategy');
  if (strategy !== undefined) {
    strategy['type'] ??= 'RollingUpdate';
    if (strategy['type'] === 'RollingUpdate') {
      const rollingUpdate = objectField(strategy, 'rollingUpdate');
      if (rollingUpdate !== undefined) {
        rollingUpdate['maxUnavailable'] ??= '25%';
        rollingUpdate['maxSurge'] ??= '25%';
      }
    }
  }
  spec['revisionHistoryLimit'] ??= DEFAULT_REVISION_HISTORY_LIMIT;
  spec['progressDeadlineSeconds'] ??= DEFAULT_PROGRESS_DEADLINE_SECONDS;
}

function defaultReplicaSet(spec: Record<string, unknown>): void {
  spec['replicas'] ??= 1;
}

function defaultDaemonSet(spec: Record<string, unknown>): void {
  const strategy = objectField(spec, 'updateStrategy');
  if (strategy !== undefined) {
    strategy['type'] ??= 'RollingUpdate';
    if (strategy['type'] === 'RollingUpdate') {
      const rollingUpdate = objectField(strategy, 'rollingUpdate');
      if (rollingUpdate !== undefined) {
        rollingUpdate['maxUnavailable'] ??= 1;
        rollingUpdate['maxSurge'] ??= 0;
      }
    }
  }
  spec['revisionHistoryLimit'] ??= DEFAULT_REVISION_HISTORY_LIMIT;
}

function defaultStatefulSet(spec: Record<string, unknown>): void {
  spec['podManagementPolicy'] ??= 'OrderedReady';
  const strategy = objectField(spec, 'updateStrategy');
  if (strategy !== undefined) {
    strategy['type'] ??= 'RollingUpdate';
    if (strategy['type'] === 'RollingUpdate') {
      const rollingUpdate = objectField(strategy, 'rollingUpdate');
      if (rollingUpdate !== undefined) rollingUpdate['partition'] ??= 0;
    }
  }
  spec['replicas'] ??= 1;
  spec['revisionHistoryLimit'] ??= DEFAULT_REVISION_HISTORY_LIMIT;
  const retention = objectField(spec, 'persistentVolumeClaimRetentionPolicy');
  if (retention !== undefined) {
    retention['whenDeleted'] ??= 'Retain';
    retention['whenScaled'] ??= 'Retain';
  }
}

interface WorkloadSpec {
  kind: WorkloadKind;
  plural: string;
  shortName: string;
  table: TableConverter;
  defaults: (spec: Record<string, unknown>) => void;
  /** the status a new object starts with: upstream's zero status, with its non-omitempty counters */
  initialStatus: () => Record<string, unknown>;
}

const WORKLOADS: readonly WorkloadSpec[] = [
  { kind: 'Deployment', plural: 'deployments', shortName: 'deploy', table: deploymentTable, defaults: defaultDeployment, initialStatus: () => ({}) },
  { kind: 'ReplicaSet', plural: 'replicasets', shortName: 'rs', table: replicaSetTable, defaults: defaultReplicaSet, initialStatus: () => ({ replicas: 0 }) },
  {
    kind: 'DaemonSet', plural: 'daemonsets', shortName: 'ds', table: daemonSetTable, defaults: defaultDaemonSet,
    initialStatus: () => ({ currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 }),
  },
  {
    kind: 'StatefulSet', plural: 'statefulsets', shortName: 'sts', table: statefulSetTable, defaults: defaultStatefulSet,
    initialStatus: () => ({ replicas: 0, availableReplicas: 0 }),
  },
];

function applyDefaults(workload: WorkloadSpec, object: KubeObject): void {
  const spec = recordAt(object, ['spec']);
  if (spec === undefined) return;
  workload.defaults(spec);
  defaultTemplate(spec);
}

/** apps/v1 ControllerRevision: an immutable snapshot of a StatefulSet's (or DaemonSet's) template, by revision number. */
function controllerRevisions(): ResourceType {
  return defineBuiltin({
    group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true, table: controllerRevisionTable,
    validate: (object, previous) => toStatusCauses(validateControllerRevision(object, previous)),
  });
}

export function appsResources(): ResourceType[] {
  return [...workloadResources(), controllerRevisions()];
}

function workloadResources(): ResourceType[] {
  return WORKLOADS.map((workload) =>
    defineBuiltin({
      group: 'apps', version: 'v1', kind: workload.kind, plural: workload.plural, namespaced: true,
      shortNames: [workload.shortName], categories: ['all'], table: workload.table,
      // DaemonSets run one pod per node: nothing to scale
      subresources: workload.kind === 'DaemonSet' ? ['status'] : ['status', 'scale'],
      prepareForCreate: (object) => {
        applyDefaults(workload, object);
        object['status'] = workload.initialStatus();
      },
      // kube-apiserver defaults every body it decodes, so a PUT without the defaulted fields keeps them
      prepareForUpdate: (next, _previous, context) => {
        if (context.subresource === '') applyDefaults(workload, next);
      },
      validate: (object, previous) => toStatusCauses(validateWorkload(workload.kind, object, previous)),
    }),
  );
}
