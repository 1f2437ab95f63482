// PodLogOptions from the query string of `pods/log`, decoded and validated as kube-apiserver does
// (core/v1 conversion + ValidatePodLogOptions), for every server that serves or forwards pod logs.
import { badRequest, invalid } from '../status/status-errors';
import { forbiddenField, invalidField, queryBoolean, queryInt64, queryString, quoted, type FieldError } from './query-values';

export interface PodLogOptions {
  container: string | undefined;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  sinceSeconds: number | undefined;
  /** RFC 3339, as given */
  sinceTime: string | undefined;
  tailLines: number | undefined;
  limitBytes: number | undefined;
  insecureSkipTLSVerifyBackend: boolean;
}

// metav1.Time's query form: RFC 3339 to the second (a fraction is accepted and dropped by Go)
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * @param pod the pod's name, for the 422's message
 * @throws StatusError 400 for an integer or time that is not one; 422 Invalid `PodLogOptions` naming the field
 */
export function parsePodLogOptions(query: URLSearchParams, pod: string): PodLogOptions {
  const sinceTime = query.get('sinceTime') ?? undefined;
  const options: PodLogOptions = {
    container: queryString(query, 'container') || undefined,
    follow: queryBoolean(query, 'follow') ?? false,
    previous: queryBoolean(query, 'previous') ?? false,
    timestamps: queryBoolean(query, 'timestamps') ?? false,
    sinceSeconds: queryInt64(query, 'sinceSeconds'),
    sinceTime: sinceTime === '' ? undefined : sinceTime,
    tailLines: queryInt64(query, 'tailLines'),
    limitBytes: queryInt64(query, 'limitBytes'),
    insecureSkipTLSVerifyBackend: queryBoolean(query, 'insecureSkipTLSVerifyBackend') ?? false,
  };
  if (options.sinceTime !== undefined && (!RFC3339.test(options.sinceTime) || Number.isNaN(Date.parse(options.sinceTime)))) {
    // a decoding failure, so a 400 as DecodeParameters' errors are
    throw badRequest(`invalid value for query parameter sinceTime: ${quoted(options.sinceTime)} is not an RFC 3339 time (2006-01-02T15:04:05Z)`);
  }
  const errors: FieldError[] = [];
  if (options.tailLines !== undefined && options.tailLines < 0) errors.push(invalidField('tailLines', options.tailLines, 'must be greater than or equal to 0'));
  if (options.limitBytes !== undefined && options.limitBytes < 1) errors.push(invalidField('limitBytes', options.limitBytes, 'must be greater than 0'));
  if (options.sinceSeconds !== undefined && options.sinceTime !== undefined) {
    errors.push(forbiddenField('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'));
  } else if (options.sinceSeconds !== undefined && options.sinceSeconds < 1) {
    errors.push(invalidField('sinceSeconds', options.sinceSeconds, 'must be greater than 0'));
  }
  if (errors.length > 0) throw invalid('', 'PodLogOptions', pod, errors);
  return options;
}
