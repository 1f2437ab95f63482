// The meta.k8s.io/v1 Table a list, a get or a watch event turns into when the client asks for one.
import type { KubeObject, ListMeta } from '../objects/kube-object';
import type { TableColumn, TableConverter } from './table-converter';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableRow {
  cells: unknown[];
  object?: Record<string, unknown>;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ListMeta;
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export interface TableOptions {
  now: Date;
  includeObject: IncludeObject;
  resourceVersion?: string;
  continueToken?: string;
  remainingItemCount?: number;
}

function rowObject(object: KubeObject, includeObject: IncludeObject): Record<string, unknown> | undefined {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}

export function buildTable(converter: TableConverter, objects: readonly KubeObject[], options: TableOptions): Table {
  const metadata: Table['metadata'] = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken !== undefined && options.continueToken !== '') metadata.continue = options.continueToken;
  if (options.remainingItemCount !== undefined) metadata.remainingItemCount = options.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: [...converter.columns],
    rows: objects.map((object) => {
      const row: TableRow = { cells: converter.cells(object, options.now) };
      const included = rowObject(object, options.includeObject);
      if (included !== undefined) row.object = included;
      return row;
    }),
  };
}

export function parseIncludeObject(value: string | null): IncludeObject | undefined {
  if (value === null || value === '') return 'Metadata';
  return value === 'None' || value === 'Metadata' || value === 'Object' ? value : undefined;
}
