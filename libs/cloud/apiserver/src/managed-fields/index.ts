// metadata.managedFields bookkeeping for create/update/patch (server-side apply keeps its own).
export { managerName, trackManagedFields, type ManagedWrite } from './managed-fields-tracker';
