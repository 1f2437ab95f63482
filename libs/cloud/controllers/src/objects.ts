// The workload kinds the controllers read, as the raw JSON the API server wrote (informers hand out
// raw JSON): @kedge/kube-core's KubeObject with only the fields the controllers use typed; everything
// else rides along.
import type { KubeObject, LabelSelector, OwnerReference } from '@kedge/kube-core';

export interface NodeSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface Taint {
  key?: string;
  value?: string;
  effect?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Container {
  name?: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  [field: string]: unknown;
}

export interface PodSpec {
  nodeName?: string;
  schedulerName?: string;
  nodeSelector?: Record<string, string>;
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] } }; [field: string]: unknown };
  tolerations?: Toleration[];
  containers?: Container[];
  initContainers?: Container[];
  overhead?: Record<string, string | number>;
  hostNetwork?: boolean;
  [field: string]: unknown;
}

export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
  lastProbeTime?: string | null;
}

export interface ContainerStatus {
  name?: string;
  restartCount?: number;
  state?: { terminated?: { exitCode?: number; reason?: string } };
  lastState?: { terminated?: { exitCode?: number } };
}

export interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

export interface Node extends KubeObject {
  spec?: { unschedulable?: boolean; taints?: Taint[] };
  status?: { conditions?: Condition[]; allocatable?: Record<string, string | number>; capacity?: Record<string, string | number> };
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: PodSpec;
}

export interface ReplicaSet extends KubeObject {
  spec?: { replicas?: number; minReadySeconds?: number; selector?: LabelSelector; template?: PodTemplate };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number; fullyLabeledReplicas?: number; observedGeneration?: number };
}

export interface IntOrPercent {
  value: number | string | undefined;
}

export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
    selector?: LabelSelector;
    template?: PodTemplate;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
  };
  status?: Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };
}

export interface DaemonSet extends KubeObject {
  spec?: {
    minReadySeconds?: number;
    selector?: LabelSelector;
    template?: PodTemplate;
    updateStrategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
  };
  status?: Record<string, unknown>;
}

export interface PodFailurePolicyRule {
  action?: string;
  onExitCodes?: { containerName?: string; operator?: string; values?: number[] };
  onPodConditions?: Array<{ type?: string; status?: string }>;
}

export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  ttlSecondsAfterFinished?: number;
  completionMode?: string;
  suspend?: boolean;
  manualSelector?: boolean;
  podReplacementPolicy?: string;
  podFailurePolicy?: { rules?: PodFailurePolicyRule[] };
  selector?: LabelSelector;
  template?: PodTemplate;
}

export interface JobStatus {
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  terminating?: number;
  startTime?: string | null;
  completionTime?: string | null;
  completedIndexes?: string;
  conditions?: Condition[];
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

export interface Job extends KubeObject {
  spec?: JobSpec;
  status?: JobStatus;
}

export interface CronJob extends KubeObject {
  spec?: {
    schedule?: string;
    timeZone?: string;
    startingDeadlineSeconds?: number;
    concurrencyPolicy?: string;
    suspend?: boolean;
    successfulJobsHistoryLimit?: number;
    failedJobsHistoryLimit?: number;
    jobTemplate?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: JobSpec };
  };
  status?: { active?: ObjectReference[]; lastScheduleTime?: string; lastSuccessfulTime?: string };
}

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

export interface StatefulSet extends KubeObject {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    serviceName?: string;
    podManagementPolicy?: string;
    ordinals?: { start?: number };
    selector?: LabelSelector;
    template?: PodTemplate;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number; maxUnavailable?: number | string } };
    volumeClaimTemplates?: KubeObject[];
  };
  status?: Record<string, unknown> & { collisionCount?: number; currentRevision?: string; updateRevision?: string };
}

export interface ControllerRevision extends KubeObject {
  data?: unknown;
  revision?: number;
}

export function nameOf(object: KubeObject): string {
  return object.metadata?.name ?? '';
}

export function namespaceOf(object: KubeObject): string {
  return object.metadata?.namespace ?? 'default';
}

/** `namespace/name`, the work-queue key of a namespaced object. */
export function keyOf(object: KubeObject): string {
  return `${namespaceOf(object)}/${nameOf(object)}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The owner that controls this object (ownerReferences entry with controller: true). */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((reference) => reference.controller === true);
}

export function isDeleting(object: KubeObject): boolean {
  const at = object.metadata?.['deletionTimestamp'];
  return at !== undefined && at !== null;
}

export function createdAt(object: KubeObject): string {
  const at = object.metadata?.['creationTimestamp'];
  return typeof at === 'string' ? at : '';
}
