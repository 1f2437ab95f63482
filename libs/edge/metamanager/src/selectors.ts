// Kubernetes label and field selectors, parsed once into a predicate. Lists filter in memory: an edge
// node holds a few hundred objects, so a scan is cheaper than keeping label indexes in SQLite.
import { InvalidSelectorError } from './errors';
import { coreResourceByType, isPlainObject, type KubeObject } from './kube-object';

export interface ObjectSelector {
  /** e.g. `app=web,tier!=db,env in (prod,staging),!canary` */
  labelSelector?: string;
  /** e.g. `metadata.name=web,spec.nodeName=gw-1` */
  fieldSelector?: string;
}

export type ObjectMatcher = (object: KubeObject) => boolean;

// selectors come from query strings: bound them before any regular expression looks at them
const MAX_SELECTOR_LENGTH = 4096;
const KEY = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const COMPARE = new RegExp(`^(${KEY})\\s*(==|=|!=|>|<)\\s*(${VALUE})$`);
const SET_VALUE = new RegExp(`^${VALUE}$`);
const FIELD = /^([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*)$/;

/** Splits on commas that are not inside parentheses (`a in (x,y),b` is two requirements). */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim());
}

function checkLength(field: 'labelSelector' | 'fieldSelector', text: string): void {
  if (text.length > MAX_SELECTOR_LENGTH) throw new InvalidSelectorError(field, `longer than ${MAX_SELECTOR_LENGTH} characters`);
}

function labelRequirement(text: string): ObjectMatcher {
  const labelsOf = (object: KubeObject): Record<string, string> => (isPlainObject(object.metadata.labels) ? object.metadata.labels : {});
  const exists = EXISTS.exec(text);
  if (exists) {
    const [, negate, key = ''] = exists;
    return negate === '!' ? (object) => !(key in labelsOf(object)) : (object) => key in labelsOf(object);
  }
  const set = SET.exec(text);
  if (set) {
    const [, key = '', operator, list = ''] = set;
    const values = new Set(list.split(',').map((value) => value.trim()));
    for (const value of values) {
      if (!SET_VALUE.test(value)) throw new InvalidSelectorError('labelSelector', `invalid value ${JSON.stringify(value)} in ${JSON.stringify(text)}`);
    }
    if (operator === 'in') return (object) => values.has(labelsOf(object)[key] ?? '\u0000');
    return (object) => {
      const value = labelsOf(object)[key];
      return value === undefined || !values.has(value);
    };
  }
  const compare = COMPARE.exec(text);
  if (compare) {
    const [, key = '', operator, value = ''] = compare;
    if (operator === '!=') return (object) => labelsOf(object)[key] !== value;
    if (operator === '>' || operator === '<') {
      const bound = Number(value);
      if (!Number.isInteger(bound)) throw new InvalidSelectorError('labelSelector', `${JSON.stringify(text)}: ${operator} needs an integer`);
      return (object) => {
        const actual = Number(labelsOf(object)[key]);
        return Number.isInteger(actual) && (operator === '>' ? actual > bound : actual < bound);
      };
    }
    return (object) => labelsOf(object)[key] === value;
  }
  throw new InvalidSelectorError('labelSelector', `cannot parse requirement ${JSON.stringify(text.slice(0, 100))}`);
}

function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object;
  for (const segment of path.split('.')) {
    if (!isPlainObject(current)) return '';
    current = current[segment];
  }
  if (current === undefined || current === null) return '';
  return typeof current === 'string' ? current : String(current as number | boolean);
}

function fieldRequirement(type: string, text: string): ObjectMatcher {
  const match = FIELD.exec(text);
  if (!match) throw new InvalidSelectorError('fieldSelector', `cannot parse requirement ${JSON.stringify(text.slice(0, 100))}`);
  const [, field = '', operator, value = ''] = match;
  const supported = ['metadata.name', 'metadata.namespace', ...(coreResourceByType(type)?.extraFields ?? [])];
  if (!supported.includes(field)) {
    throw new InvalidSelectorError('fieldSelector', `"${field}" is not a supported field selector for ${type}: use one of ${supported.join(', ')}`);
  }
  // cluster-scoped objects have no namespace; `null` is only the edge's storage key for that
  return operator === '!=' ? (object) => fieldValue(object, field) !== value : (object) => fieldValue(object, field) === value;
}

/**
 * Compiles label and field selectors into one predicate.
 * @throws InvalidSelectorError naming the selector that does not parse or an unsupported field
 */
export function compileSelector(type: string, selector: ObjectSelector | undefined): ObjectMatcher {
  const matchers: ObjectMatcher[] = [];
  const labels = selector?.labelSelector?.trim() ?? '';
  const fields = selector?.fieldSelector?.trim() ?? '';
  checkLength('labelSelector', labels);
  checkLength('fieldSelector', fields);
  if (labels !== '') for (const part of splitRequirements(labels)) matchers.push(labelRequirement(part));
  if (fields !== '') for (const part of fields.split(',')) matchers.push(fieldRequirement(type, part.trim()));
  if (matchers.length === 0) return () => true;
  return (object) => matchers.every((matches) => matches(object));
}
