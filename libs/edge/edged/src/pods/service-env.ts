// The environment a kubelet gives every container before its own `env`: the API server's address as
// KUBERNETES_SERVICE_HOST/PORT (here: MetaServer's pod-facing endpoint, the API a pod on this gateway
// reaches, online or not), and, unless enableServiceLinks is false, `<NAME>_SERVICE_HOST/_PORT` and the
// docker-link style `<NAME>_PORT*` variables for each Service of the pod's namespace the edge holds
// (pkg/kubelet/envvars in Kubernetes).
import type { EnvVar } from '@kedge/cri';
import type { MetaStore } from '@kedge/metamanager';
import type { Pod } from './pod-spec';

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

export interface ServiceLink {
  name: string;
  clusterIP: string;
  ports: ServicePort[];
}

/** Upper case, dashes to underscores: `redis-master` → `REDIS_MASTER`. */
export function envVariableName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The variables of one Service, in upstream's order. */
export function serviceVariables(service: ServiceLink): EnvVar[] {
  const prefix = envVariableName(service.name);
  const [first] = service.ports;
  if (first === undefined) return [];
  const vars: EnvVar[] = [
    { key: `${prefix}_SERVICE_HOST`, value: service.clusterIP },
    { key: `${prefix}_SERVICE_PORT`, value: String(first.port) },
  ];
  for (const port of service.ports) {
    if (port.name) vars.push({ key: `${prefix}_SERVICE_PORT_${envVariableName(port.name)}`, value: String(port.port) });
  }
  service.ports.forEach((port, index) => {
    const protocol = (port.protocol ?? 'TCP').toLowerCase();
    const url = `${protocol}://${hostPort(service.clusterIP, port.port)}`;
    if (index === 0) vars.push({ key: `${prefix}_PORT`, value: url });
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    vars.push(
      { key: portPrefix, value: url },
      { key: `${portPrefix}_PROTO`, value: protocol },
      { key: `${portPrefix}_PORT`, value: String(port.port) },
      { key: `${portPrefix}_ADDR`, value: service.clusterIP },
    );
  });
  return vars;
}

function asServiceLink(object: Record<string, unknown>): ServiceLink | undefined {
  const metadata = object['metadata'] as { name?: unknown } | undefined;
  const spec = object['spec'] as { clusterIP?: unknown; ports?: unknown } | undefined;
  const name = metadata?.name;
  const clusterIP = spec?.clusterIP;
  // upstream IsServiceIPSet: headless and unallocated services get no variables
  if (typeof name !== 'string' || typeof clusterIP !== 'string' || clusterIP === '' || clusterIP === 'None') return undefined;
  const ports = (Array.isArray(spec?.ports) ? spec.ports : [])
    .filter((port): port is Record<string, unknown> => typeof port === 'object' && port !== null && typeof (port as Record<string, unknown>)['port'] === 'number')
    .map((port) => ({
      port: port['port'] as number,
      ...(typeof port['name'] === 'string' && port['name'] !== '' ? { name: port['name'] } : {}),
      ...(typeof port['protocol'] === 'string' ? { protocol: port['protocol'] } : {}),
    }));
  return { name, clusterIP, ports };
}

/**
 * The service variables of a container: the `kubernetes` Service pointing at `apiEndpoint` (when pods
 * have API access on this node), then the pod namespace's Services (enableServiceLinks). A Service named
 * `kubernetes` in the pod's namespace does not replace the API endpoint: on the edge that name means the
 * API the pod can reach.
 */
export function serviceEnv(store: MetaStore, pod: Pod, apiEndpoint: { host: string; port: number } | undefined): EnvVar[] {
  const vars = new Map<string, string>();
  if (pod.spec.enableServiceLinks !== false) {
    const services = store
      .list('service', pod.metadata.namespace)
      .map((stored) => asServiceLink(stored.object))
      .filter((service): service is ServiceLink => service !== undefined && service.name !== 'kubernetes')
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const service of services) for (const { key, value } of serviceVariables(service)) vars.set(key, value);
  }
  if (apiEndpoint !== undefined) {
    for (const { key, value } of serviceVariables({ name: 'kubernetes', clusterIP: apiEndpoint.host, ports: [{ name: 'https', port: apiEndpoint.port, protocol: 'TCP' }] })) vars.set(key, value);
  }
  return [...vars].map(([key, value]) => ({ key, value }));
}
