// @kedge/controllers: the scheduler and the ReplicaSet, Deployment and DaemonSet controllers
// (kube-controller-manager and kube-scheduler, minimal), for cloudcore's embedded API server.
export {
  startWorkloadControllers,
  type StartWorkloadControllersParams,
  type WorkloadControllerName,
  type WorkloadControllers,
} from './workload-controllers';
export { podFitsNode, pickNode, podRequests, unschedulableMessage, emptyUsage, addUsage, type NodeUsage, type FitResult } from './scheduling/node-fit';
export { effectiveTaints, tolerates } from './scheduling/taints';
export { DEFAULT_SCHEDULER_NAME } from './scheduling/scheduler';
export { podTemplateHash, POD_TEMPLATE_HASH_LABEL } from './deployment/pod-template-hash';
export { newReplicaSetReplicas, resolveIntOrPercent, scaleDownOldReplicaSets, surgeAndUnavailable } from './deployment/rolling-update';
export { REVISION_ANNOTATION } from './deployment/deployment-controller';
export { daemonPlacement, daemonTolerations } from './daemonset/daemon-placement';
export { CONTROLLER_REVISION_HASH_LABEL } from './daemonset/daemonset-controller';
export { InvalidSpecError } from './spec-error';
export type { Node, Pod } from './objects';
