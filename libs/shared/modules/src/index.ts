// @kedge/modules: the one lifecycle of kedge daemons: Module (start, stop, health, dependsOn), the
// ModuleRunner that starts a daemon's modules in dependency order and stops them in reverse, and
// defineModule for services shaped "start returns a handle to stop", and the daemons' metrics/health module.
export type { Module, ModuleHealth, ModuleState } from './module';
export { ModuleRunner, type ModuleRunnerOptions, type ModuleStatus, type ModulesHealth } from './module-runner';
export { defineModule, type DefinedModule, type ModuleDefinition } from './define-module';
export { metricsModule, type MetricsModuleOptions } from './metrics-module';
export {
  ModuleGraphError,
  ModuleNotStartedError,
  ModuleStartError,
  ModuleStopError,
  ModuleStopTimeoutError,
  type ModuleStopFailure,
} from './module-errors';
