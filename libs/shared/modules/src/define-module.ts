// Most kedge services already have the shape "an async start that returns a handle to stop": this
// turns one into a Module whose handle dependents read (through `running`) once it has started.
import type { Module, ModuleHealth } from './module';
import { ModuleNotStartedError } from './module-errors';

export interface ModuleDefinition<T> {
  name: string;
  dependsOn?: readonly string[];
  start(): Promise<T> | T;
  stop?(running: T): Promise<void> | void;
  health?(running: T): ModuleHealth;
}

export interface DefinedModule<T> extends Module {
  /** what start() returned; throws ModuleNotStartedError before start or after stop */
  readonly running: T;
  /** whether start() has resolved and stop() has not begun */
  readonly isRunning: boolean;
}

export function defineModule<T>(definition: ModuleDefinition<T>): DefinedModule<T> {
  let current: { value: T } | undefined;
  return {
    name: definition.name,
    ...(definition.dependsOn === undefined ? {} : { dependsOn: definition.dependsOn }),
    get running(): T {
      if (current === undefined) throw new ModuleNotStartedError(definition.name);
      return current.value;
    },
    get isRunning(): boolean {
      return current !== undefined;
    },
    async start() {
      current = { value: await definition.start() };
    },
    async stop() {
      if (current === undefined) return;
      const { value } = current;
      current = undefined;
      await definition.stop?.(value);
    },
    ...(definition.health === undefined
      ? {}
      : { health: (): ModuleHealth => (current === undefined ? { ok: false } : definition.health!(current.value)) }),
  };
}
