// Prometheus metrics and health endpoints on one small HTTP server.
// Each process (and each test) gets its own Registry so that two hubs in one process never collide.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

export function createMetricsRegistry(options: { defaultMetrics?: boolean; prefix?: string } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: options.prefix ?? '' });
  return registry;
}

export interface HealthReport {
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** answers /healthz (liveness); defaults to always ok */
  health?: () => HealthReport;
  /** answers /readyz (readiness); defaults to health */
  ready?: () => HealthReport;
  /** extra read-only JSON endpoints, e.g. `/debug/nodes` */
  routes?: Record<string, () => unknown>;
  /**
   * Whether peers other than loopback may read /metrics and the extra routes (default false). Health
   * endpoints answer everyone, since kubelet probes come from outside the pod; metrics and debug data
   * (node names, sessions, versions) stay inside the host or pod unless this is set.
   */
  allowRemote?: boolean;
  /** the config field that sets allowRemote, named in the refusal, e.g. `metrics.allowRemote` */
  allowRemoteField?: string;
}

const HEALTH_PATHS = new Set(['/healthz', '/readyz']);

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (a dual-stack listener reports those). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const health = options.health ?? ((): HealthReport => ({ ok: true }));
  const ready = options.ready ?? health;
  const refused =
    (options.registry.getSingleMetric('kedge_metrics_endpoint_refused_total') as Counter<'path'> | undefined) ??
    new Counter({ name: 'kedge_metrics_endpoint_refused_total', help: 'requests for /metrics or a debug route refused because the peer is not loopback', labelNames: ['path'], registers: [options.registry] });
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!HEALTH_PATHS.has(path) && !options.allowRemote && !isLoopbackAddress(request.socket.remoteAddress)) {
      refused.inc({ path: path === '/metrics' || options.routes?.[path] ? path : 'other' });
      const field = options.allowRemoteField ?? 'metrics.allowRemote';
      response.writeHead(403, { 'content-type': 'text/plain' }).end(`forbidden: ${path} answers loopback only; set ${field}: true to let other hosts read it\n`);
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const report = path === '/healthz' ? health() : ready();
      response
        .writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: report.ok ? 'ok' : 'failing', ...report.details }));
      return;
    }
    const route = options.routes?.[path];
    if (route) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(route()));
      return;
    }
    const known = ['/metrics', '/healthz', '/readyz', ...Object.keys(options.routes ?? {})];
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: try ${known.join(', ')}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
