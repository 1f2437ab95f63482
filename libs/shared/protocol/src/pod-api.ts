// The messages behind edge pods' access to the Kubernetes API (edged's ServiceAccount tokens, MetaServer's
// authentication, authorization and forwarded writes). All go up in group `resource` with operation
// `query` and are answered with `response` (or `error` when the cloud refuses):
// - `<ns>/serviceaccounttoken/<pod>`: a TokenRequest for the pod's ServiceAccount, bound to the pod;
// - `null/podapi/tokenreview`: who a bearer token is (the cloud asks the API server as that token);
// - `null/podapi/accessreview`: may that token do this (a SelfSubjectAccessReview as that token);
// - `null/podapi/request`: a write, performed by the cloud with that token as its only credential.
// Each parser validates a content at the border and throws a ProtocolError naming the field.
import { ProtocolError } from './errors';

export const SERVICE_ACCOUNT_TOKEN_TYPE = 'serviceaccounttoken';
export const POD_API_TYPE = 'podapi';
export const PodApiCall = { TokenReview: 'tokenreview', AccessReview: 'accessreview', Request: 'request' } as const;
export type PodApiCall = (typeof PodApiCall)[keyof typeof PodApiCall];

export interface TokenRequestContent {
  podUID: string;
  serviceAccountName: string;
  audiences?: string[];
  expirationSeconds: number;
}

export interface TokenAnswer {
  token: string;
  /** RFC 3339 */
  expirationTimestamp: string;
}

export interface TokenReviewContent {
  token: string;
}

export interface ReviewedUser {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** `authenticated: false` is the API server's 401 for this token (an answer, unlike an unreachable cloud). */
export interface TokenReviewAnswer {
  authenticated: boolean;
  user?: ReviewedUser;
  error?: string;
}

export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface AccessReviewContent {
  token: string;
  attributes: ResourceAttributes;
}

export interface AccessReviewAnswer {
  allowed: boolean;
  reason?: string;
}

export interface ForwardedRequestContent {
  token: string;
  method: string;
  /** path and query string, under /api or /apis */
  path: string;
  contentType?: string;
  body?: string;
}

/** The API server's answer, verbatim. */
export interface ForwardedAnswer {
  code: number;
  contentType: string;
  body: string;
}

type Json = Record<string, unknown>;

function object(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError('INVALID_FIELD', `${what} must be an object`, { field: 'content' });
  return value as Json;
}

function text(source: Json, field: string, what: string, options: { optional?: boolean; max?: number } = {}): string | undefined {
  const value = source[field];
  if (value === undefined && options.optional) return undefined;
  if (typeof value !== 'string' || (value === '' && !options.optional)) throw new ProtocolError('INVALID_FIELD', `${what}: content.${field} must be a non-empty string`, { field: `content.${field}` });
  if (value.length > (options.max ?? 16 * 1024)) throw new ProtocolError('INVALID_FIELD', `${what}: content.${field} is longer than ${options.max ?? 16 * 1024} characters`, { field: `content.${field}` });
  return value;
}

function required(source: Json, field: string, what: string, max?: number): string {
  return text(source, field, what, max === undefined ? {} : { max }) ?? '';
}

export function parseTokenRequestContent(content: unknown): TokenRequestContent {
  const what = 'serviceaccounttoken request';
  const source = object(content, what);
  const expiration = source['expirationSeconds'];
  if (typeof expiration !== 'number' || !Number.isInteger(expiration) || expiration < 600 || expiration > 2 ** 32) {
    throw new ProtocolError('INVALID_FIELD', `${what}: content.expirationSeconds must be an integer from 600 to 2^32`, { field: 'content.expirationSeconds' });
  }
  const audiences = source['audiences'];
  if (audiences !== undefined && (!Array.isArray(audiences) || audiences.some((audience) => typeof audience !== 'string' || audience === '' || audience.length > 1024) || audiences.length > 16)) {
    throw new ProtocolError('INVALID_FIELD', `${what}: content.audiences must be a list of at most 16 non-empty strings`, { field: 'content.audiences' });
  }
  return {
    podUID: required(source, 'podUID', what, 128),
    serviceAccountName: required(source, 'serviceAccountName', what, 253),
    expirationSeconds: expiration,
    ...(audiences === undefined ? {} : { audiences: audiences as string[] }),
  };
}

export function parseTokenReviewContent(content: unknown): TokenReviewContent {
  return { token: required(object(content, 'tokenreview'), 'token', 'tokenreview') };
}

export function parseAccessReviewContent(content: unknown): AccessReviewContent {
  const what = 'accessreview';
  const source = object(content, what);
  const attributes = object(source['attributes'], `${what} attributes`);
  const optional = (field: string): Record<string, string> => {
    const value = text(attributes, field, `${what} attributes`, { optional: true, max: 253 });
    return value === undefined || value === '' ? {} : { [field]: value };
  };
  const group = text(attributes, 'group', `${what} attributes`, { optional: true, max: 253 }) ?? '';
  return {
    token: required(source, 'token', what),
    attributes: { verb: required(attributes, 'verb', `${what} attributes`, 32), resource: required(attributes, 'resource', `${what} attributes`, 253), group, ...optional('subresource'), ...optional('namespace'), ...optional('name') },
  };
}

const FORWARDED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function parseForwardedRequestContent(content: unknown, maxBodyBytes = 3 * 1024 * 1024): ForwardedRequestContent {
  const what = 'forwarded request';
  const source = object(content, what);
  const method = required(source, 'method', what, 16);
  if (!FORWARDED_METHODS.has(method)) throw new ProtocolError('INVALID_FIELD', `${what}: content.method must be one of ${[...FORWARDED_METHODS].join(', ')}`, { field: 'content.method' });
  const path = required(source, 'path', what, 8192);
  // an API path only: never a URL, a path climbing out with "..", or one outside the resource APIs
  if (!/^\/apis?\/[^?#]*(\?[^#]*)?$/.test(path) || path.split('?')[0]?.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new ProtocolError('INVALID_FIELD', `${what}: content.path must be an API path under /api or /apis`, { field: 'content.path' });
  }
  const contentType = text(source, 'contentType', what, { optional: true, max: 200 });
  const body = text(source, 'body', what, { optional: true, max: maxBodyBytes });
  return { token: required(source, 'token', what), method, path, ...(contentType === undefined ? {} : { contentType }), ...(body === undefined ? {} : { body }) };
}
