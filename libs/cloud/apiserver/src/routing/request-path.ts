// What a URL path asks for, following apiserver's RequestInfoFactory: the non-resource endpoints
// (/version, discovery, OpenAPI, health) or a resource request with group, version, namespace,
// resource, name and subresource.
import { badRequest, pathNotFound } from '@kedge/kube-core';

export type NonResourcePath =
  | { kind: 'version' }
  | { kind: 'health'; check: 'healthz' | 'livez' | 'readyz' }
  | { kind: 'metrics' }
  | { kind: 'legacyVersions' }
  | { kind: 'groupList' }
  | { kind: 'group'; group: string }
  | { kind: 'resourceList'; group: string; version: string }
  | { kind: 'openapiV2' }
  | { kind: 'openapiV3Root' }
  | { kind: 'openapiV3'; group: string; version: string };

export interface ResourcePath {
  kind: 'resource';
  group: string;
  version: string;
  /** set for namespaced requests (and for namespaces/<name> itself) */
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string | undefined;
  /** the deprecated /watch/ path form */
  watchPath: boolean;
  /** nodes/<name>/proxy/<path...>: the path after proxy/ ('' for none) */
  proxyPath?: string;
}

export type RequestPath = NonResourcePath | ResourcePath;

// subresources of namespaces that are not resources inside a namespace
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function decodeSegments(path: string): string[] {
  const raw = path.split('/').filter((segment) => segment !== '');
  return raw.map((segment) => {
    let decoded = segment;
    // without a '%' there is nothing to decode
    if (segment.includes('%')) {
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw badRequest(`the path segment "${segment}" is not valid percent-encoding`);
      }
    }
    if (decoded.includes('/') || decoded === '.' || decoded === '..') throw pathNotFound(path);
    // names are printable; control characters (NUL above all) cannot be stored as keys
    if (CONTROL_CHARACTER.test(decoded)) throw badRequest(`the path segment ${JSON.stringify(decoded)} contains control characters`);
    return decoded;
  });
}

function resourcePath(group: string, version: string, parts: string[], path: string): ResourcePath {
  let rest = parts;
  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (resource === 'nodes' && subresource === 'proxy' && namespace === undefined && name !== undefined) {
    return { kind: 'resource', group, version, namespace: undefined, resource, name, subresource, watchPath, proxyPath: extra.join('/') };
  }
  if (resource === undefined || extra.length > 0) throw pathNotFound(path);
  return { kind: 'resource', group, version, namespace: resource === 'namespaces' ? undefined : namespace, resource, name, subresource, watchPath };
}

export function parseRequestPath(path: string): RequestPath {
  const parts = decodeSegments(path);
  const [first, second, third, fourth] = parts;
  switch (first) {
    case 'version':
      if (parts.length === 1) return { kind: 'version' };
      break;
    case 'healthz':
    case 'livez':
    case 'readyz':
      return { kind: 'health', check: first };
    case 'metrics':
      if (parts.length === 1) return { kind: 'metrics' };
      break;
    case 'openapi':
      if (second === 'v2' && parts.length === 2) return { kind: 'openapiV2' };
      if (second === 'v3' && parts.length === 2) return { kind: 'openapiV3Root' };
      if (second === 'v3' && third === 'api' && fourth !== undefined && parts.length === 4) {
        return { kind: 'openapiV3', group: '', version: fourth };
      }
      if (second === 'v3' && third === 'apis' && fourth !== undefined && parts.length === 5) {
        return { kind: 'openapiV3', group: fourth, version: parts[4] ?? '' };
      }
      break;
    case 'api':
      if (parts.length === 1) return { kind: 'legacyVersions' };
      if (second === 'v1' && parts.length === 2) return { kind: 'resourceList', group: '', version: 'v1' };
      if (second !== undefined) return resourcePath('', second, parts.slice(2), path);
      break;
    case 'apis':
      if (parts.length === 1) return { kind: 'groupList' };
      if (second !== undefined && parts.length === 2) return { kind: 'group', group: second };
      if (second !== undefined && third !== undefined && parts.length === 3) return { kind: 'resourceList', group: second, version: third };
      if (second !== undefined && third !== undefined) return resourcePath(second, third, parts.slice(3), path);
      break;
    case 'swagger-2.0.0.pb-v1':
    case 'swagger.json':
      return { kind: 'openapiV2' };
  }
  throw pathNotFound(path);
}
