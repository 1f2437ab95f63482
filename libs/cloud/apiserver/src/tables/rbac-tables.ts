// Columns of `kubectl get` for the RBAC kinds, following kubernetes/pkg/printers/internalversion:
// roles show when they were created, bindings the role they grant and (wide) whom they grant it to.
import { AGE_COLUMN, arrayAt, column, humanAge, isRecord, NAME_COLUMN, stringAt, type KubeObject, type TableConverter } from '@kedge/kube-core';

const CREATED_AT_COLUMN = column('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.', { type: 'date' });

export const roleTable: TableConverter = {
  columns: [NAME_COLUMN, CREATED_AT_COLUMN],
  cells: (object) => [object.metadata.name ?? '', object.metadata.creationTimestamp ?? ''],
};

function subjectNames(object: KubeObject, kind: string): string {
  return arrayAt(object, ['subjects'])
    .filter(isRecord)
    .filter((subject) => subject['kind'] === kind)
    .map((subject) => {
      const name = typeof subject['name'] === 'string' ? subject['name'] : '';
      const namespace = typeof subject['namespace'] === 'string' ? subject['namespace'] : '';
      return kind === 'ServiceAccount' ? `${namespace}/${name}` : name;
    })
    .join(', ');
}

export const roleBindingTable: TableConverter = {
  columns: [
    NAME_COLUMN,
    column('Role', 'RoleRef is the role being bound.'),
    AGE_COLUMN,
    column('Users', 'Users in the binding.', { priority: 1 }),
    column('Groups', 'Groups in the binding.', { priority: 1 }),
    column('ServiceAccounts', 'ServiceAccounts in the binding.', { priority: 1 }),
  ],
  cells: (object, now) => [
    object.metadata.name ?? '',
    `${stringAt(object, ['roleRef', 'kind']) ?? ''}/${stringAt(object, ['roleRef', 'name']) ?? ''}`,
    humanAge(object.metadata.creationTimestamp, now),
    subjectNames(object, 'User'),
    subjectNames(object, 'Group'),
    subjectNames(object, 'ServiceAccount'),
  ],
};
