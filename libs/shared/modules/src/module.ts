// What a kedge daemon is made of: named modules that start after the modules they depend on and stop
// in reverse. cloudcore and edgecore are lists of these, run by one ModuleRunner.

/** What a running module says about itself on /healthz. */
export interface ModuleHealth {
  ok: boolean;
  /** a few facts an operator wants next to the verdict, e.g. `{ cloudConnected: false }` */
  details?: Record<string, unknown>;
}

export interface Module {
  /** unique within a daemon; other modules name it in `dependsOn`, logs and health carry it */
  readonly name: string;
  /** modules that must be running before this one starts (and stay running until it has stopped) */
  readonly dependsOn?: readonly string[];
  /** resolves when the module serves; a rejection stops the daemon's start */
  start(): Promise<void>;
  /** releases what start took; the runner bounds it with a timeout */
  stop(): Promise<void>;
  /** without it, a started module counts as healthy */
  health?(): ModuleHealth;
}

/**
 * pending: not started yet; starting/stopping: in start()/stop(); running: started;
 * stopped: stopped (or never started because an earlier module failed); failed: start or stop threw or timed out.
 */
export type ModuleState = 'pending' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
