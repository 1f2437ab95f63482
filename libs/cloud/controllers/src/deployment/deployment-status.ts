// A Deployment's status from its ReplicaSets, as upstream's calculateStatus, with the Available
// and Progressing conditions `kubectl rollout status` reads.
import type { Condition, Deployment, ReplicaSet } from '../objects';
import { nameOf } from '../objects';

export interface DeploymentCounts {
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  unavailableReplicas: number;
}

export function deploymentCounts(newSet: ReplicaSet | undefined, allSets: ReplicaSet[]): DeploymentCounts {
  const sum = (pick: (set: ReplicaSet) => number | undefined): number => allSets.reduce((total, set) => total + (pick(set) ?? 0), 0);
  const specTotal = sum((set) => set.spec?.replicas);
  const availableReplicas = sum((set) => set.status?.availableReplicas);
  return {
    replicas: sum((set) => set.status?.replicas),
    updatedReplicas: newSet?.status?.replicas ?? 0,
    readyReplicas: sum((set) => set.status?.readyReplicas),
    availableReplicas,
    unavailableReplicas: Math.max(0, specTotal - availableReplicas),
  };
}

/** Done rolling out: every wanted pod updated and available, no old pods left (upstream's DeploymentComplete). */
export function rolloutComplete(deployment: Deployment, counts: DeploymentCounts): boolean {
  const wanted = deployment.spec?.replicas ?? 1;
  return counts.updatedReplicas === wanted && counts.replicas === wanted && counts.availableReplicas === wanted;
}

function setCondition(conditions: Condition[], next: Condition, now: string): Condition[] {
  const previous = conditions.find((condition) => condition.type === next.type);
  const sameStatus = previous?.status === next.status;
  const sameReason = sameStatus && previous?.reason === next.reason && previous?.message === next.message;
  const merged: Condition = {
    ...next,
    lastTransitionTime: sameStatus ? (previous?.lastTransitionTime ?? now) : now,
    lastUpdateTime: next.lastUpdateTime ?? (sameReason ? (previous?.lastUpdateTime ?? now) : now),
  };
  return [...conditions.filter((condition) => condition.type !== next.type), merged];
}

export interface ConditionInputs {
  deployment: Deployment;
  newSet: ReplicaSet | undefined;
  counts: DeploymentCounts;
  maxUnavailable: number;
  /** counts moved since the last status: progress, which resets the deadline */
  progressed: boolean;
  now: number;
}

export function deploymentConditions(inputs: ConditionInputs): { conditions: Condition[]; deadlineAt: number | undefined } {
  const { deployment, newSet, counts, now } = inputs;
  const at = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  const wanted = deployment.spec?.replicas ?? 1;
  let conditions = deployment.status?.conditions ?? [];
  conditions =
    counts.availableReplicas >= wanted - inputs.maxUnavailable
      ? setCondition(conditions, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, at)
      : setCondition(conditions, { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, at);
  const setName = newSet === undefined ? nameOf(deployment) : nameOf(newSet);
  const previous = conditions.find((condition) => condition.type === 'Progressing');
  let deadlineAt: number | undefined;
  if (deployment.spec?.paused === true) {
    conditions = setCondition(conditions, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, at);
  } else if (rolloutComplete(deployment, counts)) {
    conditions = setCondition(conditions, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${setName}" has successfully progressed.` }, at);
  } else {
    const deadlineSeconds = deployment.spec?.progressDeadlineSeconds ?? 600;
    const lastProgress = inputs.progressed || previous?.status !== 'True' || previous.reason === 'NewReplicaSetAvailable' ? now : Date.parse(previous.lastUpdateTime ?? at);
    deadlineAt = lastProgress + deadlineSeconds * 1000;
    if (previous?.reason === 'ProgressDeadlineExceeded' && !inputs.progressed) {
      deadlineAt = undefined;
    } else if (now >= deadlineAt) {
      conditions = setCondition(conditions, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${setName}" has timed out progressing.` }, at);
      deadlineAt = undefined;
    } else {
      const updateTime = inputs.progressed || previous?.reason !== 'ReplicaSetUpdated' ? at : (previous.lastUpdateTime ?? at);
      conditions = setCondition(conditions, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${setName}" is progressing.`, lastUpdateTime: updateTime }, at);
    }
  }
  return { conditions, deadlineAt };
}
