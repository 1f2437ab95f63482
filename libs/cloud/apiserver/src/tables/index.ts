// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) for the kinds only this
// server serves: apps/v1 workloads, leases, CRDs and custom resources, RBAC. The Table envelope and the
// core/v1 columns (pods, nodes, configmaps, ...) are @kedge/kube-core's, shared with MetaServer.
export {
  customResourceDefinitionTable,
  daemonSetTable,
  deploymentTable,
  formatLabelSelector,
  leaseTable,
  replicaSetTable,
  statefulSetTable,
} from './workload-tables';
export { controllerRevisionTable, cronJobTable, jobTable } from './batch-tables';
export { customResourceTable, type JsonPathEvaluator, type PrinterColumn } from './custom-resource-table';
export { roleBindingTable, roleTable } from './rbac-tables';
