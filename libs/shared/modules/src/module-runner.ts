// Runs a daemon's modules: starts them in dependency order, stops them in reverse, and is the one place
// that says which module failed to start (and stops the ones started before it again).
import type { Logger } from '@kedge/telemetry';
import type { Module, ModuleHealth, ModuleState } from './module';
import { ModuleGraphError, ModuleStartError, ModuleStopError, ModuleStopTimeoutError, type ModuleStopFailure } from './module-errors';

export interface ModuleRunnerOptions {
  modules: readonly Module[];
  logger: Logger;
  /** how long one module's stop() may take before the runner gives up on it and stops the next; default 10 s */
  stopTimeoutMs?: number;
}

export interface ModuleStatus {
  state: ModuleState;
  /** running and, if the module reports health, healthy */
  ok: boolean;
  details?: Record<string, unknown>;
  /** why it failed (start, stop or health()) */
  error?: string;
}

export interface ModulesHealth {
  /** every module running and healthy */
  ok: boolean;
  modules: Record<string, ModuleStatus>;
}

const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export class ModuleRunner {
  /** module names in start order (stop order is the reverse) */
  readonly order: readonly string[];
  readonly #modules: readonly Module[];
  readonly #logger: Logger;
  readonly #stopTimeoutMs: number;
  readonly #states = new Map<string, { state: ModuleState; error?: string }>();
  #started = false;
  #stopping: Promise<void> | undefined;

  constructor(options: ModuleRunnerOptions) {
    this.#modules = startOrder(options.modules);
    this.order = this.#modules.map((m) => m.name);
    this.#logger = options.logger;
    this.#stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    for (const module of this.#modules) this.#states.set(module.name, { state: 'pending' });
  }

  /** Starts every module in order; on a failure stops the started ones and throws ModuleStartError. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('ModuleRunner.start() was already called; make a new runner to start again');
    this.#started = true;
    for (const module of this.#modules) {
      this.#set(module.name, 'starting');
      const began = Date.now();
      try {
        await module.start();
      } catch (thrown) {
        const cause = asError(thrown);
        this.#set(module.name, 'failed', cause.message);
        this.#logger.error({ module: module.name, error: cause.message }, 'module failed to start; stopping the modules started before it');
        await this.#stopStarted();
        throw new ModuleStartError(module.name, cause);
      }
      this.#set(module.name, 'running');
      this.#logger.info({ module: module.name, ms: Date.now() - began }, 'module started');
    }
  }

  /**
   * Stops the running modules in reverse start order, each within the stop timeout; a module that throws
   * or times out does not keep the others running. Throws ModuleStopError naming them afterwards.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopStarted().then((failures) => {
      if (failures.length > 0) throw new ModuleStopError(failures);
    });
    return this.#stopping;
  }

  /** Per-module state for /healthz and /readyz. */
  health(): ModulesHealth {
    const modules: Record<string, ModuleStatus> = {};
    for (const module of this.#modules) {
      const { state, error } = this.#states.get(module.name)!;
      const status: ModuleStatus = { state, ok: state === 'running' };
      if (error !== undefined) status.error = error;
      if (state === 'running' && module.health) {
        let report: ModuleHealth;
        try {
          report = module.health();
        } catch (thrown) {
          report = { ok: false, details: { error: asError(thrown).message } };
        }
        status.ok = report.ok;
        if (report.details !== undefined) status.details = report.details;
      }
      modules[module.name] = status;
    }
    return { ok: Object.values(modules).every((m) => m.ok), modules };
  }

  async #stopStarted(): Promise<ModuleStopFailure[]> {
    const failures: ModuleStopFailure[] = [];
    for (const module of [...this.#modules].reverse()) {
      if (this.#states.get(module.name)?.state !== 'running') continue;
      this.#set(module.name, 'stopping');
      try {
        await withTimeout(module.stop(), this.#stopTimeoutMs, () => new ModuleStopTimeoutError(module.name, this.#stopTimeoutMs));
        this.#set(module.name, 'stopped');
        this.#logger.debug({ module: module.name }, 'module stopped');
      } catch (thrown) {
        const cause = asError(thrown);
        this.#set(module.name, 'failed', cause.message);
        this.#logger.error({ module: module.name, error: cause.message }, 'module did not stop cleanly; stopping the others');
        failures.push({ module: module.name, cause });
      }
    }
    return failures;
  }

  #set(name: string, state: ModuleState, error?: string): void {
    this.#states.set(name, error === undefined ? { state } : { state, error });
  }
}

/** Dependencies first, otherwise in the order given; refuses duplicates, unknown dependencies and cycles. */
function startOrder(modules: readonly Module[]): Module[] {
  const byName = new Map<string, Module>();
  for (const module of modules) {
    if (byName.has(module.name)) throw new ModuleGraphError(module.name, 'name', 'listed twice; module names must be unique');
    byName.set(module.name, module);
  }
  const ordered: Module[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (module: Module): void => {
    if (done.has(module.name)) return;
    const at = path.indexOf(module.name);
    if (at >= 0) {
      const cycle = [...path.slice(at), module.name].join(' -> ');
      throw new ModuleGraphError(path[path.length - 1]!, 'dependsOn', `dependency cycle ${cycle}`);
    }
    path.push(module.name);
    for (const name of module.dependsOn ?? []) {
      const dependency = byName.get(name);
      if (dependency === undefined) {
        throw new ModuleGraphError(module.name, 'dependsOn', `depends on "${name}", which is not in the module list (${[...byName.keys()].join(', ')})`);
      }
      visit(dependency);
    }
    path.pop();
    done.add(module.name);
    ordered.push(module);
  };
  for (const module of modules) visit(module);
  return ordered;
}

function withTimeout(work: Promise<void>, timeoutMs: number, timeoutError: () => Error): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const asError = (thrown: unknown): Error => (thrown instanceof Error ? thrown : new Error(String(thrown)));
