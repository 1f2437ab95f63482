// Maps a request path to what it asks for. Only the shapes the core/v1 API uses are recognised;
// anything else is a 404 Status, never an exception escaping the server.
import { badRequest, pathNotFound, StatusError } from '@kedge/kube-core';
import { coreResourceByPlural, type CoreResource } from '../kube-object';

export type ApiRoute =
  | { kind: 'root' | 'version' | 'api' | 'api-v1' | 'apis' | 'health' }
  | { kind: 'collection'; resource: CoreResource; namespace: string | undefined }
  | { kind: 'object'; resource: CoreResource; namespace: string | undefined; name: string }
  /** one Namespace: answered from the namespaces stored objects are in (kubectl asks after a NotFound) */
  | { kind: 'namespace'; name: string };

const HEALTH = new Set(['healthz', 'livez', 'readyz']);

/** /healthz, /livez, /readyz (with or without a trailing slash): answered without a credential. */
export function isHealthPath(pathname: string): boolean {
  return HEALTH.has(pathname.replace(/^\/+|\/+$/g, ''));
}

function segmentsOf(pathname: string): string[] {
  try {
    return pathname
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => decodeURIComponent(segment));
  } catch {
    throw badRequest('the request path is not valid percent-encoding');
  }
}

function resourceOf(plural: string): CoreResource {
  const resource = coreResourceByPlural(plural);
  if (resource === undefined) {
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource: MetaServer serves only pods, configmaps, secrets, services, endpoints and nodes', {
      kind: plural.slice(0, 63),
    });
  }
  return resource;
}

function notFound(path: string): StatusError {
  return pathNotFound(path.slice(0, 200));
}

/** @throws StatusError 404 NotFound / 400 BadRequest */
export function routeOf(pathname: string): ApiRoute {
  const segments = segmentsOf(pathname);
  const [first, second, third, fourth, fifth, sixth, ...rest] = segments;
  if (first === undefined) return { kind: 'root' };
  if (segments.length === 1 && first === 'version') return { kind: 'version' };
  if (segments.length === 1 && HEALTH.has(first)) return { kind: 'health' };
  if (segments.length === 1 && first === 'apis') return { kind: 'apis' };
  if (first !== 'api') throw notFound(pathname);
  if (second === undefined) return { kind: 'api' };
  if (second !== 'v1') throw notFound(pathname);
  if (third === undefined) return { kind: 'api-v1' };
  if (rest.length > 0) throw notFound(pathname);
  if (third === 'namespaces' && fourth !== undefined && fifth !== undefined) {
    const resource = resourceOf(fifth);
    if (!resource.namespaced) throw notFound(pathname);
    if (sixth === undefined) return { kind: 'collection', resource, namespace: fourth };
    return { kind: 'object', resource, namespace: fourth, name: sixth };
  }
  if (sixth !== undefined || fifth !== undefined) throw notFound(pathname);
  if (third === 'namespaces' && fourth !== undefined) return { kind: 'namespace', name: fourth };
  const resource = resourceOf(third);
  if (fourth === undefined) return { kind: 'collection', resource, namespace: undefined };
  // /api/v1/pods/<name> is not a Kubernetes path: named namespaced objects live under namespaces/
  if (resource.namespaced) throw notFound(pathname);
  return { kind: 'object', resource, namespace: undefined, name: fourth };
}
