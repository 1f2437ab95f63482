// The kubelet's HTTP paths as kube-apiserver and metrics-server call them (pkg/kubelet/server/server.go,
// pkg/registry/core/pod/strategy.go), and the `nodes` subresource a kubelet authorizes each one as
// (pkg/kubelet/server/auth.go).
import { KubeletRequestError } from './kubelet-errors';

export type KubeletRoute =
  | { kind: 'containerLogs'; namespace: string; pod: string; container: string }
  | { kind: 'exec' | 'attach'; namespace: string; pod: string; uid?: string; container: string }
  | { kind: 'portForward'; namespace: string; pod: string; uid?: string }
  | { kind: 'healthz' }
  | { kind: 'pods' }
  | { kind: 'statsSummary' }
  | { kind: 'metricsResource' };

export type KubeletRouteKind = KubeletRoute['kind'];

function segments(path: string): string[] {
  return path
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        throw new KubeletRequestError(400, 'bad-request', `the path segment "${segment}" is not valid percent-encoding`);
      }
    });
}

/** @throws KubeletRequestError 404 for a path the kubelet API does not serve */
export function parseKubeletPath(path: string): KubeletRoute {
  const parts = segments(path);
  const [first, ...rest] = parts;
  const notFound = (): never => {
    throw new KubeletRequestError(404, 'not-found', `the kubelet API served by cloudcore has no path ${path}`);
  };
  switch (first) {
    case 'healthz':
      return rest.length === 0 ? { kind: 'healthz' } : notFound();
    case 'pods':
      return rest.length === 0 ? { kind: 'pods' } : notFound();
    case 'stats':
      return rest.length === 1 && rest[0] === 'summary' ? { kind: 'statsSummary' } : notFound();
    case 'metrics':
      return rest.length === 1 && rest[0] === 'resource' ? { kind: 'metricsResource' } : notFound();
    case 'containerLogs': {
      const [namespace, pod, container] = rest;
      if (rest.length !== 3 || !namespace || !pod || !container) notFound();
      return { kind: 'containerLogs', namespace: namespace ?? '', pod: pod ?? '', container: container ?? '' };
    }
    case 'exec':
    case 'attach': {
      // /exec/{ns}/{pod}/{container} or /exec/{ns}/{pod}/{uid}/{container}
      if (rest.length !== 3 && rest.length !== 4) notFound();
      const [namespace = '', pod = ''] = rest;
      const container = rest[rest.length - 1] ?? '';
      const uid = rest.length === 4 ? rest[2] : undefined;
      return { kind: first, namespace, pod, container, ...(uid === undefined ? {} : { uid }) };
    }
    case 'portForward': {
      if (rest.length !== 2 && rest.length !== 3) notFound();
      const [namespace = '', pod = '', uid] = rest;
      return { kind: 'portForward', namespace, pod, ...(uid === undefined ? {} : { uid }) };
    }
  }
  return notFound();
}

/** The `nodes` subresource a kubelet checks a path against: stats, metrics, log, else proxy. */
export function authorizationSubresource(path: string): 'stats' | 'metrics' | 'log' | 'proxy' {
  const at = (prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);
  if (at('/stats')) return 'stats';
  if (at('/metrics')) return 'metrics';
  if (at('/logs')) return 'log';
  return 'proxy';
}

const VERBS: Record<string, string> = { GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** The authorization verb of an HTTP method, as a kubelet maps it. */
export function authorizationVerb(method: string): string {
  return VERBS[method.toUpperCase()] ?? method.toLowerCase();
}
