// Label selectors (metav1.LabelSelector) and node selector terms (core/v1 NodeSelectorTerm), matched
// as apimachinery does (label selectors through @kedge/kube-core). A malformed selector is an
// InvalidSpecError naming the field, never a match.
import { SelectorParseError, labelSelectorRequirements, matchesLabels, type LabelSelector } from '@kedge/kube-core';
import type { NodeSelectorRequirement, NodeSelectorTerm } from './objects';
import { InvalidSpecError } from './spec-error';

export type LabelMatcher = (labels: Record<string, string> | undefined) => boolean;

/**
 * Compiles a LabelSelector. As upstream for workloads, an empty selector is refused (it would select
 * every pod in the namespace); `field` names where the selector sits, for the error.
 */
export function compileLabelSelector(selector: LabelSelector | undefined, field: string): LabelMatcher {
  const empty = Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
  if (empty) throw new InvalidSpecError(field, 'empty selector: it would select every pod; set matchLabels or matchExpressions');
  try {
    const requirements = labelSelectorRequirements(selector, field);
    return (labels) => matchesLabels(requirements, labels);
  } catch (error) {
    if (error instanceof SelectorParseError) throw new InvalidSpecError(error.field, error.message);
    throw error;
  }
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
