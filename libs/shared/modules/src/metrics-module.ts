// The daemon's own endpoint as a module: /metrics from its registry, and /healthz and /readyz that list
// every module's state (cloudcore and edgecore add a few details of their own, e.g. the cloud link).
import { startMetricsServer, type MetricsServer } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import { defineModule, type DefinedModule } from './define-module';
import type { ModulesHealth } from './module-runner';

export interface MetricsModuleOptions {
  address: string;
  port: number;
  registry: Registry;
  /** the runner's health; read on every request */
  modulesHealth: () => ModulesHealth;
  /** more fields for the health body, e.g. `{ cloudConnected }` */
  details?: () => Record<string, unknown>;
  /** extra read-only JSON endpoints, e.g. `/debug/nodes` */
  routes?: Record<string, () => unknown>;
  /** let peers other than loopback read /metrics and the routes (config `metrics.allowRemote`) */
  allowRemote?: boolean;
}

export function metricsModule(options: MetricsModuleOptions): DefinedModule<MetricsServer> {
  return defineModule({
    name: 'metrics',
    start: () =>
      startMetricsServer({
        host: options.address,
        port: options.port,
        registry: options.registry,
        health: () => {
          const summary = options.modulesHealth();
          return { ok: summary.ok, details: { ...options.details?.(), modules: summary.modules } };
        },
        ...(options.routes ? { routes: options.routes } : {}),
        allowRemote: options.allowRemote ?? false,
        allowRemoteField: 'metrics.allowRemote',
      }),
    stop: (server) => server.close(),
  });
}
