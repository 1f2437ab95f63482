// The Kubernetes verb of a request: HTTP method plus whether it names an object and asks to watch.
import { methodNotAllowed, queryBoolean } from '@kedge/kube-core';
import type { ResourcePath } from './request-path';

export type RequestVerb =
  | 'get'
  | 'list'
  | 'watch'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'deletecollection'
  | 'connect';

const STREAM_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward']);
const PROXY_VERBS: Record<string, RequestVerb> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', OPTIONS: 'get' };
// subresources whose POST creates something about the named object (a token for a service account,
// a scheduler's binding of a pod, an eviction of a pod)
const CREATE_SUBRESOURCES = new Set(['token', 'binding', 'eviction']);

export function requestVerb(method: string, path: ResourcePath, query: URLSearchParams): RequestVerb {
  const named = path.name !== undefined;
  if (path.subresource === 'proxy') {
    // as kube-apiserver: nodes/proxy is authorized with the verb of the method (get nodes/proxy, create nodes/proxy, ...)
    const verb = PROXY_VERBS[method];
    if (verb === undefined) throw methodNotAllowed(method, `${path.resource}/proxy`);
    return verb;
  }
  if (path.subresource !== undefined && STREAM_SUBRESOURCES.has(path.subresource)) {
    if (method === 'GET' || method === 'POST') return path.subresource === 'log' ? 'get' : 'connect';
    throw methodNotAllowed(method, `${path.resource}/${path.subresource}`);
  }
  switch (method) {
    case 'GET':
      // `watch` is a boolean as kube-apiserver decodes it: only 0 and false (any case) are false, so
      // the Python client's watch=True is a watch
      if (path.watchPath || queryBoolean(query, 'watch') === true) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      if (!named || (path.subresource !== undefined && CREATE_SUBRESOURCES.has(path.subresource))) return 'create';
      break;
    case 'PUT':
      if (named) return 'update';
      break;
    case 'PATCH':
      if (named) return 'patch';
      break;
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
  }
  throw methodNotAllowed(method, named ? `${path.resource}/${path.name ?? ''}` : path.resource);
}
