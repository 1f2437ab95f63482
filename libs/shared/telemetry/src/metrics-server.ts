// Prometheus metrics and health endpoints on one small HTTP server.
// Each process (and each test) gets its own Registry so that two hubs in one process never collide.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

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
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const health = options.health ?? ((): HealthReport => ({ ok: true }));
  const ready = options.ready ?? health;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
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
    const route = path === undefined ? undefined : options.routes?.[path];
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
