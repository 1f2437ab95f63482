// Label and field selectors for the store's lists and MetaServer's watches, compiled once into a
// predicate. Parsing and matching are @kedge/kube-core's; what is edge-specific is which fields each
// type may be selected by, and the error type. Lists filter in memory: an edge node holds a few
// hundred objects, so a scan is cheaper than keeping label indexes in SQLite.
import { SelectorParseError, fieldAt, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, type KubeObject } from '@kedge/kube-core';
import { InvalidSelectorError } from './errors';
import { coreResourceByType } from './kube-object';

export interface ObjectSelector {
  /** e.g. `app=web,tier!=db,env in (prod,staging),!canary` */
  labelSelector?: string;
  /** e.g. `metadata.name=web,spec.nodeName=gw-1` */
  fieldSelector?: string;
}

export type ObjectMatcher = (object: KubeObject) => boolean;

/** A field's value as field selectors compare it: absent is '', numbers and booleans as text. */
function fieldValue(object: KubeObject, field: string): string {
  const value = fieldAt(object, field.split('.'));
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value as number | boolean);
}

/**
 * Compiles label and field selectors into one predicate.
 * @throws InvalidSelectorError naming the selector that does not parse or an unsupported field
 */
export function compileSelector(type: string, selector: ObjectSelector | undefined): ObjectMatcher {
  let parsed: { labels: ReturnType<typeof parseLabelSelector>; fields: ReturnType<typeof parseFieldSelector> };
  try {
    parsed = { labels: parseLabelSelector(selector?.labelSelector), fields: parseFieldSelector(selector?.fieldSelector) };
  } catch (error) {
    if (!(error instanceof SelectorParseError)) throw error;
    throw new InvalidSelectorError(error.field === 'fieldSelector' ? 'fieldSelector' : 'labelSelector', error.message);
  }
  const { labels, fields } = parsed;
  const supported = ['metadata.name', 'metadata.namespace', ...(coreResourceByType(type)?.extraFields ?? [])];
  for (const { field } of fields) {
    if (!supported.includes(field)) {
      throw new InvalidSelectorError('fieldSelector', `"${field.slice(0, 100)}" is not a supported field selector for ${type}: use one of ${supported.join(', ')}`);
    }
  }
  if (labels.length === 0 && fields.length === 0) return () => true;
  return (object) => matchesLabels(labels, object.metadata.labels) && matchesFields(fields, (field) => fieldValue(object, field));
}
