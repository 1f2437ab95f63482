// The JSONPath subset printer columns use: `.spec.replicas`, `.items[0]`, `.a[*].b`,
// `.metadata.labels['app.kubernetes.io/name']`, `.status.conditions[?(@.type=="Ready")].status`,
// optionally wrapped in `{}` and with `\.` escapes in field names.

export type JsonPathStep =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'filter'; path: JsonPathStep[]; op?: '==' | '!=' | '<' | '<=' | '>' | '>='; value?: unknown };

type Parsed = { ok: true; steps: JsonPathStep[] } | { ok: false; error: string };

const MAX_STEPS = 64;

function parseLiteral(text: string): { ok: true; value: unknown } | { ok: false } {
  const t = text.trim();
  if (/^'.*'$/s.test(t)) return { ok: true, value: t.slice(1, -1) };
  if (/^".*"$/s.test(t)) {
    try {
      return { ok: true, value: JSON.parse(t) };
    } catch {
      return { ok: false };
    }
  }
  if (t === 'true' || t === 'false') return { ok: true, value: t === 'true' };
  if (t === 'null') return { ok: true, value: null };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { ok: true, value: Number(t) };
  return { ok: false };
}

/** Parses a path (relative to the object, `$`/`@` prefix optional). */
export function parseJsonPath(expr: string): Parsed {
  if (typeof expr !== 'string') return { ok: false, error: 'must be a string' };
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$') || s.startsWith('@')) s = s.slice(1);
  if (s === '') return { ok: false, error: 'must not be empty' };
  if (!s.startsWith('.') && !s.startsWith('[')) return { ok: false, error: 'must be a simple json path starting with .' };
  const steps: JsonPathStep[] = [];
  let i = 0;
  while (i < s.length) {
    if (steps.length > MAX_STEPS) return { ok: false, error: `must have at most ${MAX_STEPS} steps` };
    const c = s[i];
    if (c === '.') {
      i++;
      if (s[i] === '.') return { ok: false, error: 'recursive descent (..) is not supported' };
      if (s[i] === '*') {
        steps.push({ kind: 'wildcard' });
        i++;
        continue;
      }
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        name += s[i];
        i++;
      }
      if (name === '') return { ok: false, error: `empty field name at position ${i}` };
      steps.push({ kind: 'field', name });
    } else if (c === '[') {
      const close = findClose(s, i);
      if (close < 0) return { ok: false, error: `unclosed "[" at position ${i}` };
      const inner = s.slice(i + 1, close).trim();
      i = close + 1;
      if (inner === '*') steps.push({ kind: 'wildcard' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) {
        const filter = parseFilter(inner.slice(2, -1).trim());
        if (!filter) return { ok: false, error: `unsupported filter "${inner}"` };
        steps.push(filter);
      } else return { ok: false, error: `unsupported subscript "[${inner}]"` };
    } else {
      return { ok: false, error: `unexpected "${c}" at position ${i}` };
    }
  }
  return { ok: true, steps };
}

function findClose(s: string, open: number): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return i;
  }
  return -1;
}

function parseFilter(body: string): JsonPathStep | undefined {
  const m = /^@((?:\.[^.=!<>\s[\]]+|\[[^\]]*\])+)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$/s.exec(body);
  if (!m) return undefined;
  const path = parseJsonPath(m[1] ?? '');
  if (!path.ok) return undefined;
  if (m[2] === undefined) return { kind: 'filter', path: path.steps };
  const literal = parseLiteral(m[3] ?? '');
  if (!literal.ok) return undefined;
  return { kind: 'filter', path: path.steps, op: m[2] as '==', value: literal.value };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function compare(left: unknown, op: NonNullable<Extract<JsonPathStep, { kind: 'filter' }>['op']>, right: unknown): boolean {
  if (op === '==' || op === '!=') {
    const eq = JSON.stringify(left) === JSON.stringify(right) || (left !== undefined && right !== undefined && String(left) === String(right));
    return op === '==' ? eq : !eq;
  }
  if (typeof left !== 'number' || typeof right !== 'number') return false;
  return op === '<' ? left < right : op === '<=' ? left <= right : op === '>' ? left > right : left >= right;
}

/** All values the steps select (in document order). */
export function selectJsonPath(obj: unknown, steps: readonly JsonPathStep[]): unknown[] {
  let current: unknown[] = [obj];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (isRecord(v) && Object.prototype.hasOwnProperty.call(v, step.name)) next.push(v[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (step.kind === 'wildcard') {
        if (Array.isArray(v)) next.push(...v);
        else if (isRecord(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const found = selectJsonPath(item, step.path);
          if (step.op === undefined ? found.length > 0 : found.length > 0 && compare(found[0], step.op, step.value)) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

/** The first value a printer column's jsonPath selects, or undefined (also for unparsable paths). */
export function evaluatePrinterColumn(obj: unknown, jsonPath: string): unknown {
  const parsed = parseJsonPath(jsonPath);
  if (!parsed.ok) return undefined;
  return selectJsonPath(obj, parsed.steps)[0];
}
