// Label selectors (metav1.LabelSelector) and node selector terms (core/v1 NodeSelectorTerm), matched
// as apimachinery does. A malformed selector is an InvalidSpecError naming the field, never a match.
import type { LabelSelector, NodeSelectorRequirement, NodeSelectorTerm } from './objects';
import { InvalidSpecError } from './spec-error';

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/**
 * Compiles a LabelSelector. As upstream for workloads, an empty selector is refused (it would select
 * every pod in the namespace); `field` names where the selector sits, for the error.
 */
export function compileLabelSelector(selector: LabelSelector | undefined, field: string): LabelMatcher {
  const matchLabels = selector?.matchLabels ?? {};
  const expressions = selector?.matchExpressions ?? [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) throw new InvalidSpecError(field, 'empty selector: it would select every pod; set matchLabels or matchExpressions');
  const checks: LabelMatcher[] = [];
  for (const [key, value] of Object.entries(matchLabels)) checks.push((labels) => labels?.[key] === value);
  expressions.forEach((expression, index) => {
    const where = `${field}.matchExpressions[${index}]`;
    const key = expression.key ?? '';
    if (key === '') throw new InvalidSpecError(`${where}.key`, 'required');
    const values = expression.values ?? [];
    switch (expression.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) throw new InvalidSpecError(`${where}.values`, `must be non-empty for operator ${expression.operator}`);
        const wanted = new Set(values);
        const negate = expression.operator === 'NotIn';
        checks.push((labels) => (labels?.[key] !== undefined && wanted.has(labels[key])) !== negate);
        break;
      }
      case 'Exists':
        checks.push((labels) => labels?.[key] !== undefined);
        break;
      case 'DoesNotExist':
        checks.push((labels) => labels?.[key] === undefined);
        break;
      default:
        throw new InvalidSpecError(`${where}.operator`, `"${String(expression.operator)}" is not one of In, NotIn, Exists, DoesNotExist`);
    }
  });
  return (labels) => checks.every((check) => check(labels));
}

function integerValue(values: string[] | undefined, where: string): number {
  const text = values?.length === 1 ? values[0] : undefined;
  if (text === undefined || !/^-?\d+$/.test(text)) throw new InvalidSpecError(`${where}.values`, 'must be exactly one integer for Gt and Lt');
  return Number(text);
}

/** One node selector requirement against a map (labels, or fields such as metadata.name). */
function requirementMatches(requirement: NodeSelectorRequirement, values: Record<string, string>, where: string): boolean {
  const key = requirement.key ?? '';
  if (key === '') throw new InvalidSpecError(`${where}.key`, 'required');
  const actual = values[key];
  switch (requirement.operator) {
    case 'In':
      return actual !== undefined && (requirement.values ?? []).includes(actual);
    case 'NotIn':
      return actual === undefined || !(requirement.values ?? []).includes(actual);
    case 'Exists':
      return actual !== undefined;
    case 'DoesNotExist':
      return actual === undefined;
    case 'Gt':
    case 'Lt': {
      const bound = integerValue(requirement.values, where);
      if (actual === undefined || !/^-?\d+$/.test(actual)) return false;
      return requirement.operator === 'Gt' ? Number(actual) > bound : Number(actual) < bound;
    }
    default:
      throw new InvalidSpecError(`${where}.operator`, `"${String(requirement.operator)}" is not one of In, NotIn, Exists, DoesNotExist, Gt, Lt`);
  }
}

/**
 * requiredDuringSchedulingIgnoredDuringExecution: the terms are ORed, the requirements inside a term
 * ANDed; a term with no requirements matches nothing (as upstream). No terms at all means no constraint.
 */
export function nodeSelectorTermsMatch(terms: NodeSelectorTerm[] | undefined, labels: Record<string, string>, nodeName: string, field: string): boolean {
  if (terms === undefined || terms.length === 0) return true;
  return terms.some((term, index) => {
    const where = `${field}[${index}]`;
    const expressions = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (expressions.length === 0 && fields.length === 0) return false;
    return (
      expressions.every((requirement, at) => requirementMatches(requirement, labels, `${where}.matchExpressions[${at}]`)) &&
      fields.every((requirement, at) => requirementMatches(requirement, { 'metadata.name': nodeName }, `${where}.matchFields[${at}]`))
    );
  });
}
