// Columns of a custom resource: NAME, the CRD's additionalPrinterColumns (JSONPath into the object),
// and AGE unless a column already shows the creation time.
import { AGE_COLUMN, humanAge, NAME_COLUMN, type KubeObject, type TableColumn, type TableConverter } from '@kedge/kube-core';

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

export type JsonPathEvaluator = (object: KubeObject, jsonPath: string) => unknown;

function cellOf(value: unknown, type: string, now: Date): unknown {
  if (value === undefined || value === null) return null;
  if (type === 'date' && typeof value === 'string') return humanAge(value, now);
  if ((type === 'integer' || type === 'number') && typeof value === 'number') return value;
  if (type === 'boolean' && typeof value === 'boolean') return value;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

const TABLE_TYPES = new Set(['string', 'integer', 'number', 'boolean', 'date']);

export function customResourceTable(printerColumns: readonly PrinterColumn[], evaluate: JsonPathEvaluator): TableConverter {
  const showsCreation = printerColumns.some((printer) => printer.jsonPath.replace(/^\./, '') === 'metadata.creationTimestamp');
  const columns: TableColumn[] = [
    NAME_COLUMN,
    ...printerColumns.map(
      (printer): TableColumn => ({
        name: printer.name,
        type: (TABLE_TYPES.has(printer.type) ? printer.type : 'string') as TableColumn['type'],
        format: printer.format ?? '',
        description: printer.description ?? '',
        priority: printer.priority ?? 0,
      }),
    ),
  ];
  if (!showsCreation) columns.push(AGE_COLUMN);
  return {
    columns,
    cells: (object, now) => {
      const cells: unknown[] = [object.metadata.name ?? ''];
      for (const printer of printerColumns) {
        let value: unknown;
        try {
          value = evaluate(object, printer.jsonPath);
        } catch {
          value = undefined; // a bad path prints <none>, as kubectl does for missing fields
        }
        cells.push(cellOf(value, printer.type, now));
      }
      if (!showsCreation) cells.push(humanAge(object.metadata.creationTimestamp, now));
      return cells;
    },
  };
}
