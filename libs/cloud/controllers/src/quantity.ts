// Kubernetes resource quantities ("250m", "0.5", "128Mi", "1G", "1e3") as numbers: cpu in
// millicores, everything else in base units. Enough for request-vs-allocatable arithmetic.
import { InvalidSpecError } from './spec-error';

const SUFFIXES: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/;

/** The quantity in base units (cores for cpu, bytes for memory); `field` names it in the error. */
export function parseQuantity(value: string | number, field: string): number {
  if (typeof value === 'number') return value;
  const match = QUANTITY.exec(value.trim());
  if (match === null) throw new InvalidSpecError(field, `"${value}" is not a quantity (e.g. 250m, 0.5, 128Mi, 1G)`);
  const number = Number(match[1]);
  if (match[2] !== undefined) return number * 10 ** Number(match[2].slice(1));
  return number * (SUFFIXES[match[3] ?? ''] ?? 1);
}

/** cpu as integer millicores, other resources in base units, so sums do not drift. */
export function resourceAmount(resource: string, value: string | number, field: string): number {
  const base = parseQuantity(value, field);
  return resource === 'cpu' ? Math.ceil(base * 1000 - 1e-9) : base;
}
