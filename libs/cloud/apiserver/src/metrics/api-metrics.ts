// Request counters in the style of kube-apiserver's apiserver_request_total, registered on the
// caller's prom-client Registry (each server its own, so two servers in one test never collide).
import { Counter, type Registry } from 'prom-client';

export interface ApiMetrics {
  request(labels: { verb: string; group: string; resource: string; code: number }): void;
  /** a request refused before any handler ran or for bad input: 400, 401, 404 path, 413, 415, 422 */
  rejected(reason: string): void;
  /** a write refused by admission: node-restriction, rbac-escalation, rbac-bind */
  writeRefused(reason: string): void;
}

export const NO_METRICS: ApiMetrics = { request: () => undefined, rejected: () => undefined, writeRefused: () => undefined };

export function createApiMetrics(registry: Registry | undefined): ApiMetrics {
  if (registry === undefined) return NO_METRICS;
  const requests = new Counter({
    name: 'apiserver_request_total',
    help: 'API requests by verb, group, resource and HTTP code',
    labelNames: ['verb', 'group', 'resource', 'code'] as const,
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'apiserver_rejected_requests_total',
    help: 'requests refused for bad input or credentials, by Status reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const refusedWrites = new Counter({
    name: 'kedge_apiserver_refused_writes_total',
    help: 'writes refused by admission: a node creating what is not its own (node-restriction), a Role granting or a binding binding permissions the writer does not hold (rbac-escalation, rbac-bind)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return {
    request: ({ verb, group, resource, code }) => requests.inc({ verb, group, resource, code: String(code) }),
    rejected: (reason) => rejected.inc({ reason }),
    writeRefused: (reason) => refusedWrites.inc({ reason }),
  };
}
