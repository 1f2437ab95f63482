// Keeps an edge connected: redials with jittered exponential backoff so that a thousand edges losing
// the same cloudcore do not come back in lockstep.
import { EventEmitter } from 'node:events';
import type { Connection, ConnectionClosed } from './connection';

export interface BackoffOptions {
  /** delay before the first retry; default 500 */
  initialDelayMs: number;
  /** the delay never grows beyond this; default 30000 */
  maxDelayMs: number;
  /** growth per attempt; default 2 */
  multiplier: number;
  /** share of the delay that is random, 0..1; default 0.5 (1 = "full jitter") */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (1 for the first retry). The ceiling is
 * `min(maxDelayMs, initialDelayMs × multiplier^(attempt-1))`; the delay is drawn uniformly from
 * `[ceiling × (1 - jitter), ceiling]`, i.e. "full jitter" scaled by `jitter`: jitter 1 is AWS's full
 * jitter, 0 is plain exponential backoff. `random` returns a number in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** exponent);
  const jitter = Math.min(1, Math.max(0, options.jitter));
  return Math.round(ceiling * (1 - jitter * random()));
}

export interface DisconnectedInfo extends ConnectionClosed {
  /** how long the connection was up */
  uptimeMs: number;
  /** when the link will dial again */
  retryInMs: number;
}

export interface DialFailedInfo {
  /** 1 for the first failure since the last good connection */
  attempt: number;
  /** wait before the next dial */
  delayMs: number;
  error: Error;
}

export interface ReconnectingLinkEvents {
  connected: (connection: Connection) => void;
  disconnected: (info: DisconnectedInfo) => void;
  dialFailed: (info: DialFailedInfo) => void;
}

export interface ReconnectingLinkOptions {
  dial: () => Promise<Connection>;
  backoff?: Partial<BackoffOptions>;
  /** a connection up at least this long resets the backoff; default 10000 */
  stableAfterMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Listener = (...args: unknown[]) => void;

export class ReconnectingLink {
  private readonly events = new EventEmitter();
  private readonly backoff: BackoffOptions;
  private readonly stableAfterMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private running = false;
  private loop: Promise<void> | undefined;
  private connection: Connection | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: ReconnectingLinkOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.stableAfterMs = options.stableAfterMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** the live connection, if there is one */
  get current(): Connection | undefined {
    return this.connection;
  }

  get started(): boolean {
    return this.running;
  }

  /** Delay before retry `attempt` with this link's backoff and randomness. */
  nextDelay(attempt: number): number {
    return backoffDelay(attempt, this.backoff, this.random);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops dialing and closes the current connection; resolves once the link is idle. */
  async stop(reason = 'link stopped'): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.connection?.close(reason);
    await this.loop;
  }

  on<E extends keyof ReconnectingLinkEvents>(event: E, listener: ReconnectingLinkEvents[E]): this {
    this.events.on(event, listener as Listener);
    return this;
  }

  off<E extends keyof ReconnectingLinkEvents>(event: E, listener: ReconnectingLinkEvents[E]): this {
    this.events.off(event, listener as Listener);
    return this;
  }

  once<E extends keyof ReconnectingLinkEvents>(event: E, listener: ReconnectingLinkEvents[E]): this {
    this.events.once(event, listener as Listener);
    return this;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (this.running) {
      let connection: Connection;
      try {
        connection = await this.options.dial();
      } catch (error) {
        attempt += 1;
        const delayMs = this.nextDelay(attempt);
        const failure = error instanceof Error ? error : new Error(String(error));
        this.events.emit('dialFailed', { attempt, delayMs, error: failure } satisfies DialFailedInfo);
        await this.pause(delayMs);
        continue;
      }
      if (!this.running) {
        await connection.close('link stopped');
        return;
      }
      const connectedAt = Date.now();
      this.connection = connection;
      // connected handlers attach their listeners first, so held messages reach them (FramedConnection)
      this.events.emit('connected', connection);
      const info = await new Promise<ConnectionClosed>((resolve) => connection.once('close', resolve));
      this.connection = undefined;
      const uptimeMs = Date.now() - connectedAt;
      // a link that held resets the backoff; one that drops at once counts as another failure
      attempt = uptimeMs >= this.stableAfterMs ? 1 : attempt + 1;
      const retryInMs = this.running ? this.nextDelay(attempt) : 0;
      this.events.emit('disconnected', { ...info, uptimeMs, retryInMs } satisfies DisconnectedInfo);
      await this.pause(retryInMs);
    }
  }

  /** Sleeps, but stop() cuts the sleep short. */
  private async pause(ms: number): Promise<void> {
    if (!this.running) return;
    const stopped = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    await Promise.race([this.sleep(ms), stopped]);
    this.wake = undefined;
  }
}
