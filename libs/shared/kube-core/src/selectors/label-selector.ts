// Label selectors in the text form of `k8s.io/apimachinery/pkg/labels`:
//   env=prod, tier==web, track!=canary, env in (a,b), env notin (a), gpu, !gpu, replicas>2
// and in the object form of metav1.LabelSelector (matchLabels, matchExpressions), both compiled to
// the same requirements. Parsing rejects what Kubernetes rejects, so `kubectl -l` typos fail the same way here.

export type LabelOperator = 'exists' | 'doesNotExist' | 'equals' | 'notEquals' | 'in' | 'notIn' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

/** A selector that does not parse; `field` says where it came from (`labelSelector`, `spec.selector.matchExpressions[0].operator`). */
export class SelectorParseError extends Error {
  override readonly name = 'SelectorParseError';

  constructor(
    message: string,
    readonly field = 'labelSelector',
  ) {
    super(message);
  }
}

/** metav1.LabelSelectorRequirement as it arrives in JSON: every field may be missing. */
export interface LabelSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

/** metav1.LabelSelector (workload `spec.selector`, pod affinity terms). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  const slash = key.lastIndexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    throw new SelectorParseError(`unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`);
  }
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw new SelectorParseError(`unable to parse requirement: invalid label key "${key}": prefix part must be a lowercase RFC 1123 subdomain`);
  }
}

function checkValue(value: string): void {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw new SelectorParseError(`unable to parse requirement: invalid label value: "${value}": must be 63 characters or less and consist of alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`);
  }
}

/** Splits on commas that are not inside a `( ... )` value set. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
    if (depth < 0) throw new SelectorParseError(`unable to parse requirement: unexpected ")" in "${text}"`);
  }
  if (depth !== 0) throw new SelectorParseError(`unable to parse requirement: unclosed "(" in "${text}"`);
  parts.push(text.slice(start));
  return parts;
}

const SET_REQUIREMENT = /^(\S+)\s+(in|notin)\s*\((.*)\)$/;
const BINARY_REQUIREMENT = /^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(.*)$/;

function parseRequirement(raw: string): LabelRequirement {
  const text = raw.trim();
  if (text === '') throw new SelectorParseError('unable to parse requirement: found \'\', expected: identifier');
  if (text.startsWith('!')) {
    const key = text.slice(1).trim();
    checkKey(key);
    return { key, operator: 'doesNotExist', values: [] };
  }
  const set = SET_REQUIREMENT.exec(text);
  if (set) {
    const [, key = '', word, list = ''] = set;
    checkKey(key);
    const values = list.split(',').map((value) => value.trim());
    if (values.length === 1 && values[0] === '' ) {
      throw new SelectorParseError(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
    }
    values.forEach(checkValue);
    return { key, operator: word === 'in' ? 'in' : 'notIn', values };
  }
  const binary = BINARY_REQUIREMENT.exec(text);
  if (binary) {
    const [, key = '', operator, value = ''] = binary;
    checkKey(key);
    const trimmed = value.trim();
    if (operator === '>' || operator === '<') {
      if (!/^-?\d+$/.test(trimmed)) {
        throw new SelectorParseError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
      }
      return { key, operator: operator === '>' ? 'gt' : 'lt', values: [trimmed] };
    }
    checkValue(trimmed);
    return { key, operator: operator === '!=' ? 'notEquals' : 'equals', values: [trimmed] };
  }
  if (/\s/.test(text)) throw new SelectorParseError(`unable to parse requirement: found '${text}', expected: in, notin, =, ==, !=, gt, lt`);
  checkKey(text);
  return { key: text, operator: 'exists', values: [] };
}

/** Selectors come from query strings: bound them before any regular expression looks at them. */
export const MAX_SELECTOR_LENGTH = 4096;

export function checkSelectorLength(text: string, field: 'labelSelector' | 'fieldSelector'): void {
  if (text.length > MAX_SELECTOR_LENGTH) throw new SelectorParseError(`${field} is longer than ${MAX_SELECTOR_LENGTH} characters`, field);
}

export function parseLabelSelector(text: string | undefined): LabelRequirement[] {
  if (text === undefined || text.trim() === '') return [];
  checkSelectorLength(text, 'labelSelector');
  return splitRequirements(text).map(parseRequirement);
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  return requirements.every((requirement) => {
    const value = labels?.[requirement.key];
    switch (requirement.operator) {
      case 'exists':
        return value !== undefined;
      case 'doesNotExist':
        return value === undefined;
      case 'equals':
      case 'in':
        return value !== undefined && requirement.values.includes(value);
      case 'notEquals':
      case 'notIn':
        return value === undefined || !requirement.values.includes(value);
      case 'gt':
      case 'lt': {
        if (value === undefined || !/^-?\d+$/.test(value)) return false;
        const wanted = Number(requirement.values[0]);
        return requirement.operator === 'gt' ? Number(value) > wanted : Number(value) < wanted;
      }
    }
  });
}

const OBJECT_OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notIn', Exists: 'exists', DoesNotExist: 'doesNotExist' };

/**
 * The requirements of a metav1.LabelSelector, checked as apimachinery's LabelSelectorAsSelector does.
 * An empty selector gives no requirements, i.e. it matches everything; callers that must refuse that
 * (workload controllers) check for it first.
 * @param field where the selector sits, e.g. `spec.selector`, for the error
 * @throws SelectorParseError naming the field of the bad requirement
 */
export function labelSelectorRequirements(selector: LabelSelector | undefined, field = 'selector'): LabelRequirement[] {
  const requirements: LabelRequirement[] = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => ({ key, operator: 'equals', values: [value] }));
  (selector?.matchExpressions ?? []).forEach((expression, index) => {
    const where = `${field}.matchExpressions[${index}]`;
    const key = expression.key ?? '';
    if (key === '') throw new SelectorParseError('required', `${where}.key`);
    const operator = OBJECT_OPERATORS[String(expression.operator)];
    if (operator === undefined) {
      throw new SelectorParseError(`"${String(expression.operator)}" is not one of In, NotIn, Exists, DoesNotExist`, `${where}.operator`);
    }
    const values = expression.values ?? [];
    if ((operator === 'in' || operator === 'notIn') && values.length === 0) {
      throw new SelectorParseError(`must be non-empty for operator ${String(expression.operator)}`, `${where}.values`);
    }
    if ((operator === 'exists' || operator === 'doesNotExist') && values.length > 0) {
      throw new SelectorParseError(`must be empty for operator ${String(expression.operator)}`, `${where}.values`);
    }
    requirements.push({ key, operator, values });
  });
  return requirements;
}
