// Server-side printing: kubectl asks for `as=Table` and prints the columns it gets, so these column
// sets and cell formats are what users see from `kubectl get`.
import type { KubeObject } from '../objects/kube-object';

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  /** 0 = always shown; 1 = only with `-o wide` */
  priority: number;
}

export interface TableConverter {
  columns: readonly TableColumn[];
  cells(object: KubeObject, now: Date): unknown[];
}

export function column(name: string, description: string, options: Partial<Omit<TableColumn, 'name' | 'description'>> = {}): TableColumn {
  return { name, type: options.type ?? 'string', format: options.format ?? '', description, priority: options.priority ?? 0 };
}

export const NAME_COLUMN: TableColumn = column(
  'Name',
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.',
  { format: 'name' },
);

export const AGE_COLUMN: TableColumn = column(
  'Age',
  'CreationTimestamp is a timestamp representing the server time when this object was created.',
);
