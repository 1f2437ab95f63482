// Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).
export { AGE_COLUMN, NAME_COLUMN, column, type TableColumn, type TableConverter } from './table-converter';
export {
  configMapTable,
  endpointsTable,
  eventTable,
  namespaceTable,
  secretTable,
  serviceAccountTable,
  serviceTable,
} from './core-tables';
export {
  customResourceDefinitionTable,
  daemonSetTable,
  defaultTable,
  deploymentTable,
  formatLabelSelector,
  leaseTable,
  nodeTable,
  podTable,
  replicaSetTable,
  statefulSetTable,
} from './workload-tables';
export { customResourceTable, type JsonPathEvaluator, type PrinterColumn } from './custom-resource-table';
export { roleBindingTable, roleTable } from './rbac-tables';
export { buildTable, parseIncludeObject, type IncludeObject, type Table, type TableOptions, type TableRow } from './table-response';
