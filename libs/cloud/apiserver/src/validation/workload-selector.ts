// metav1.LabelSelector objects (`spec.selector` of the apps/v1 workloads): validation after
// apimachinery's ValidateLabelSelector (every problem as a FieldError); matching is @kedge/kube-core's.
import { labelSelectorRequirements, matchesLabels } from '@kedge/kube-core';
import type { FieldError } from './field-error';
import { fieldInvalid, fieldRequired, pathChild, pathIndex } from './field-error';
import { labelValueProblems, qualifiedNameProblems } from './names';
import { validateLabels } from './object-meta';
import { readArray, readObject, readString, readStringMap } from './read';

const SET_OPERATORS = ['In', 'NotIn'];
const EXISTENCE_OPERATORS = ['Exists', 'DoesNotExist'];

export interface SelectorRequirement {
  key: string;
  operator: string;
  values: string[];
}

export interface LabelSelector {
  matchLabels: Map<string, string>;
  matchExpressions: SelectorRequirement[];
}

/** Reads and checks a LabelSelector at `path`; undefined when it is absent or not an object. */
export function readLabelSelector(value: unknown, path: string, errs: FieldError[]): LabelSelector | undefined {
  const selector = readObject(value, path, errs);
  if (!selector) return undefined;
  const labelsPath = pathChild(path, 'matchLabels');
  errs.push(...validateLabels(selector['matchLabels'], labelsPath));
  const matchLabels = readStringMap(selector['matchLabels'], labelsPath, []);
  const expressionsPath = pathChild(path, 'matchExpressions');
  const matchExpressions: SelectorRequirement[] = [];
  (readArray(selector['matchExpressions'], expressionsPath, errs) ?? []).forEach((item, index) => {
    const itemPath = pathIndex(expressionsPath, index);
    const requirement = readObject(item, itemPath, errs);
    if (!requirement) return;
    const key = readString(requirement['key'], pathChild(itemPath, 'key'), errs) ?? '';
    for (const problem of qualifiedNameProblems(key)) errs.push(fieldInvalid(pathChild(itemPath, 'key'), key, problem));
    const operator = readString(requirement['operator'], pathChild(itemPath, 'operator'), errs) ?? '';
    const valuesPath = pathChild(itemPath, 'values');
    const values = (readArray(requirement['values'], valuesPath, errs) ?? [])
      .map((entry, valueIndex) => readString(entry, pathIndex(valuesPath, valueIndex), errs))
      .filter((entry): entry is string => entry !== undefined);
    if (SET_OPERATORS.includes(operator)) {
      if (values.length === 0) errs.push(fieldRequired(valuesPath, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (EXISTENCE_OPERATORS.includes(operator)) {
      if (values.length > 0) errs.push(fieldInvalid(valuesPath, values, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      errs.push(fieldInvalid(pathChild(itemPath, 'operator'), operator, 'not a valid selector operator'));
    }
    values.forEach((entry, valueIndex) => {
      for (const problem of labelValueProblems(entry)) errs.push(fieldInvalid(pathIndex(valuesPath, valueIndex), entry, problem));
    });
    matchExpressions.push({ key, operator, values });
  });
  return { matchLabels, matchExpressions };
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return selector.matchLabels.size === 0 && selector.matchExpressions.length === 0;
}

/** Whether `labels` are selected; an empty selector selects everything, as in apimachinery. */
export function selectorMatches(selector: LabelSelector, labels: ReadonlyMap<string, string>): boolean {
  // matching is kube-core's, the one implementation; this selector was validated by readLabelSelector
  const requirements = labelSelectorRequirements({ matchLabels: Object.fromEntries(selector.matchLabels), matchExpressions: selector.matchExpressions });
  return matchesLabels(requirements, Object.fromEntries(labels));
}
