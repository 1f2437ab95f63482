// Errors of module composition, each naming the module at fault, so a daemon that cannot start says
// which part of it failed and why.

/** The module list itself is wrong: a duplicate name, a dependency nobody provides, or a cycle. */
export class ModuleGraphError extends Error {
  override readonly name = 'ModuleGraphError';
  constructor(
    /** the module whose declaration is at fault */
    readonly module: string,
    /** the declaration at fault */
    readonly field: 'name' | 'dependsOn',
    message: string,
  ) {
    super(`module ${module}: ${message}`);
  }
}

/** A module's start() threw; the modules started before it have been stopped again. */
export class ModuleStartError extends Error {
  override readonly name = 'ModuleStartError';
  constructor(
    readonly module: string,
    override readonly cause: Error,
  ) {
    super(`module ${module} failed to start: ${cause.message}`, { cause });
  }
}

export interface ModuleStopFailure {
  module: string;
  cause: Error;
}

/** One or more modules did not stop cleanly (threw or timed out); the others were stopped anyway. */
export class ModuleStopError extends Error {
  override readonly name = 'ModuleStopError';
  constructor(readonly failures: readonly ModuleStopFailure[]) {
    super(`modules did not stop cleanly: ${failures.map((f) => `${f.module} (${f.cause.message})`).join(', ')}`);
  }
}

/** A module's stop() did not settle within the runner's stop timeout. */
export class ModuleStopTimeoutError extends Error {
  override readonly name = 'ModuleStopTimeoutError';
  constructor(
    readonly module: string,
    readonly timeoutMs: number,
  ) {
    super(`stop did not finish within ${timeoutMs} ms`);
  }
}

/** A module's result was read before its start() resolved: a dependency missing from `dependsOn`. */
export class ModuleNotStartedError extends Error {
  override readonly name = 'ModuleNotStartedError';
  constructor(readonly module: string) {
    super(`module ${module} is not running: list it in dependsOn of the module that reads it`);
  }
}
