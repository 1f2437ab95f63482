// ListOptions of list and watch requests, decoded and validated as kube-apiserver does
// (metainternalversion ListOptions + its validation), so both kedge API servers answer a bad
// combination with the same 422 a cluster gives.
import { badRequest } from '../status/status-errors';
import { forbiddenField, invalidOptions, queryBoolean, queryInt64, queryString, quoted, unsupportedField, type FieldError } from './query-values';

export type ResourceVersionMatch = 'Exact' | 'NotOlderThan';

export interface ListOptions {
  watch: boolean;
  /** the raw selector strings; each server compiles them against the fields its types support */
  labelSelector: string;
  fieldSelector: string;
  /** '' when not given; otherwise a decimal revision */
  resourceVersion: string;
  resourceVersionMatch: ResourceVersionMatch | undefined;
  /** 0 (or less) means everything */
  limit: number;
  continue: string;
  timeoutSeconds: number | undefined;
  allowWatchBookmarks: boolean;
  /** undefined when not given: for a watch that is not the same as false (watch-list semantics) */
  sendInitialEvents: boolean | undefined;
}

const MATCH_VALUES: readonly string[] = ['Exact', 'NotOlderThan'];

/**
 * Decodes and validates the list/watch parameters. `watch` is the request's verb as the router
 * decided it (a `watch` parameter or a /watch/ path).
 * @throws StatusError 400 for a value that does not decode (an integer that is not one, a
 *   resourceVersion that is not a revision); 422 Invalid `ListOptions.meta.k8s.io` for a combination
 *   kube-apiserver forbids
 */
export function parseListOptions(query: URLSearchParams, watch: boolean): ListOptions {
  const options: ListOptions = {
    watch,
    labelSelector: queryString(query, 'labelSelector'),
    fieldSelector: queryString(query, 'fieldSelector'),
    resourceVersion: queryString(query, 'resourceVersion'),
    resourceVersionMatch: undefined,
    limit: queryInt64(query, 'limit') ?? 0,
    continue: queryString(query, 'continue'),
    timeoutSeconds: queryInt64(query, 'timeoutSeconds'),
    allowWatchBookmarks: queryBoolean(query, 'allowWatchBookmarks') ?? false,
    sendInitialEvents: queryBoolean(query, 'sendInitialEvents'),
  };
  if (options.resourceVersion !== '' && !/^\d{1,19}$/.test(options.resourceVersion)) {
    throw badRequest(`invalid resource version: resourceVersion: Invalid value: ${quoted(options.resourceVersion)}: must be a non-negative integer`, [
      { reason: 'FieldValueInvalid', field: 'resourceVersion', message: `Invalid value: ${quoted(options.resourceVersion)}: must be a non-negative integer` },
    ]);
  }
  const match = queryString(query, 'resourceVersionMatch');
  const errors = watch ? watchErrors(options, match) : listErrors(options, match);
  if (errors.length > 0) throw invalidOptions('ListOptions', errors);
  if (match !== '') options.resourceVersionMatch = match as ResourceVersionMatch;
  return options;
}

function listErrors(options: ListOptions, match: string): FieldError[] {
  const errors: FieldError[] = [];
  if (match !== '') {
    if (options.resourceVersion === '') errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided'));
    if (options.continue !== '') errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
    if (!MATCH_VALUES.includes(match)) errors.push(unsupportedField('resourceVersionMatch', quoted(match), [...MATCH_VALUES, '']));
    if (match === 'Exact' && options.resourceVersion === '0') {
      errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'));
    }
  }
  if (options.sendInitialEvents !== undefined) errors.push(forbiddenField('sendInitialEvents', 'sendInitialEvents is forbidden for list'));
  return errors;
}

// the WatchList feature (beta and on in Kubernetes 1.32) is always on here
function watchErrors(options: ListOptions, match: string): FieldError[] {
  const errors: FieldError[] = [];
  if (options.sendInitialEvents !== undefined && match !== 'NotOlderThan') {
    errors.push(forbiddenField('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'));
  }
  if (match !== '') {
    if (options.sendInitialEvents === undefined) {
      errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'));
    }
    if (match !== 'NotOlderThan') errors.push(unsupportedField('resourceVersionMatch', quoted(match), ['NotOlderThan']));
    if (options.continue !== '') errors.push(forbiddenField('resourceVersionMatch', 'resourceVersionMatch is forbidden when continue is provided'));
  }
  return errors;
}
