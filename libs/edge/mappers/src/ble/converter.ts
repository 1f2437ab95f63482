// KubeEdge's BLE data converter (mappers-go `mappers/ble`), as a pure function: take bytes startIndex..endIndex
// (reversed when startIndex > endIndex), concatenate their decimal string forms and parse that as an integer
// (KubeEdge's quirk, kept for compatibility), shift left or right, then apply the operations in order.
export type OperationType = 'Add' | 'Subtract' | 'Multiply' | 'Divide';

export interface DataConverter {
  startIndex?: number;
  endIndex?: number;
  shiftLeft?: number;
  shiftRight?: number;
  orderOfOperations?: { operationType: OperationType; operationValue: number }[];
}

export const OPERATIONS: readonly OperationType[] = ['Add', 'Subtract', 'Multiply', 'Divide'];

export function convertBleData(data: Uint8Array, c: DataConverter = {}): number {
  if (data.length === 0) throw new RangeError('no data');
  const start = c.startIndex ?? 0;
  const end = c.endIndex ?? data.length - 1;
  const lo = Math.min(start, end);
  const hi = Math.max(start, end);
  if (lo < 0 || hi >= data.length) throw new RangeError(`byte range ${start}..${end} outside ${data.length} bytes`);
  const picked: number[] = [];
  for (let i = lo; i <= hi; i++) picked.push(data[i] ?? 0);
  if (start > end) picked.reverse();
  let value = Number.parseInt(picked.map((b) => b.toString(10)).join(''), 10);
  // shifts operate on integers; Math keeps them exact beyond 32 bits
  if (c.shiftLeft) value = value * 2 ** c.shiftLeft;
  else if (c.shiftRight) value = Math.floor(value / 2 ** c.shiftRight);
  for (const op of c.orderOfOperations ?? []) {
    switch (op.operationType) {
      case 'Add':
        value += op.operationValue;
        break;
      case 'Subtract':
        value -= op.operationValue;
        break;
      case 'Multiply':
        value *= op.operationValue;
        break;
      case 'Divide':
        value /= op.operationValue;
        break;
    }
  }
  return value;
}

/** validates a converter from config; returns a message naming the bad field, or undefined */
export function converterProblem(c: unknown): { field: string; message: string } | undefined {
  if (c === undefined) return undefined;
  if (typeof c !== 'object' || c === null) return { field: 'dataConverter', message: 'must be an object' };
  const d = c as Record<string, unknown>;
  for (const k of ['startIndex', 'endIndex', 'shiftLeft', 'shiftRight']) {
    const v = d[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0)) return { field: `dataConverter.${k}`, message: 'must be a non-negative integer' };
  }
  const ops = d.orderOfOperations;
  if (ops === undefined) return undefined;
  if (!Array.isArray(ops)) return { field: 'dataConverter.orderOfOperations', message: 'must be a list' };
  for (const [i, op] of ops.entries()) {
    const o = (op ?? {}) as Record<string, unknown>;
    if (!OPERATIONS.includes(o.operationType as OperationType)) {
      return { field: `dataConverter.orderOfOperations[${i}].operationType`, message: `${String(o.operationType)} is not one of ${OPERATIONS.join(', ')}` };
    }
    if (typeof o.operationValue !== 'number' || !Number.isFinite(o.operationValue)) {
      return { field: `dataConverter.orderOfOperations[${i}].operationValue`, message: 'must be a number' };
    }
    if (o.operationType === 'Divide' && o.operationValue === 0) return { field: `dataConverter.orderOfOperations[${i}].operationValue`, message: 'division by zero' };
  }
  return undefined;
}
