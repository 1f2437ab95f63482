// The parent's side of the edge-scale dialers: forks them, splits the edges between them, and sends
// each command to all of them at once.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { DialerCommand, DialerConvergence, DialerReply, DialerRequest, DialerStatus } from './dialer';
import { addCounts, addDiff, type DiffCount, type MessageCount } from '../edge-desired-state';

const DIALER_SCRIPT = join(import.meta.dirname, 'dialer.ts');

interface Dialer {
  child: ChildProcess;
  names: string[];
  pending: Map<number, { resolve: (reply: DialerReply) => void; reject: (error: Error) => void }>;
  exited: Promise<void>;
}

export class DialerPool {
  private readonly dialers: Dialer[];
  private nextId = 1;

  /** Forks `count` dialer processes and gives each a contiguous share of `names`. */
  constructor(names: readonly string[], count: number) {
    const share = Math.ceil(names.length / count);
    this.dialers = Array.from({ length: Math.min(count, names.length) }, (_, i) => {
      const child = fork(DIALER_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const dialer: Dialer = {
        child,
        names: names.slice(i * share, (i + 1) * share),
        pending: new Map(),
        exited: new Promise((resolve) => child.once('exit', () => resolve())),
      };
      child.on('message', ({ id, reply }: { id: number; reply: DialerReply }) => {
        const waiter = dialer.pending.get(id);
        dialer.pending.delete(id);
        if (reply.type === 'error') waiter?.reject(new Error(`dialer ${child.pid} failed ${reply.command}: ${reply.message}`));
        else waiter?.resolve(reply);
      });
      void dialer.exited.then(() => {
        for (const waiter of dialer.pending.values()) waiter.reject(new Error(`dialer ${child.pid} exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)})`));
        dialer.pending.clear();
      });
      return dialer;
    });
  }

  get pids(): number[] {
    return this.dialers.map((dialer) => dialer.child.pid ?? 0);
  }

  get size(): number {
    return this.dialers.length;
  }

  /** Issues every dialer's node certificates with the CA in `pkiDir` and builds its edges. */
  async init(hubUrl: string, pkiDir: string, options: { keepaliveMs: number; recordMessages: boolean; raw?: boolean }): Promise<void> {
    await Promise.all(
      this.dialers.map((dialer) => this.request(dialer, { type: 'init', hubUrl, pkiDir, names: dialer.names, ...options, raw: options.raw ?? false })),
    );
  }

  /** Connects every edge, `concurrency` at a time per dialer (0: all at once). */
  async connect(concurrency: number): Promise<void> {
    await this.all({ type: 'connect', concurrency });
  }

  async register(concurrency: number): Promise<void> {
    await this.all({ type: 'register', concurrency });
  }

  async disconnect(): Promise<void> {
    await this.all({ type: 'disconnect' });
  }

  async status(): Promise<DialerStatus> {
    const replies = await this.all({ type: 'status' });
    const total: DialerStatus = { connected: 0, remoteCloses: 0, downMessages: 0, redundantMessages: 0, retries: 0, lastError: undefined };
    for (const reply of replies) {
      if (reply.type !== 'status') continue;
      const s = reply.status;
      total.connected += s.connected;
      total.remoteCloses += s.remoteCloses;
      total.downMessages += s.downMessages;
      total.redundantMessages += s.redundantMessages;
      total.retries += s.retries;
      total.lastError = s.lastError ?? total.lastError;
    }
    return total;
  }

  /**
   * Gives every dialer its edges' desired sets; resolves with the changes the edges lack (ideal). `again`:
   * recomputed in the same phase, so edges that already hold their sets keep their convergence times.
   */
  async expect(desired: ReadonlyMap<string, ReadonlyMap<string, string>>, again = false): Promise<DiffCount> {
    const replies = await Promise.all(
      this.dialers.map((dialer) =>
        this.request(dialer, { type: 'expect', again, desired: dialer.names.map((name) => [name, [...(desired.get(name) ?? new Map<string, string>())]]) }),
      ),
    );
    let ideal: DiffCount = { insert: 0, update: 0, delete: 0 };
    for (const reply of replies) if (reply.type === 'expected') ideal = addDiff(ideal, reply.ideal);
    return ideal;
  }

  async convergence(): Promise<DialerConvergence> {
    const replies = await this.all({ type: 'convergence' });
    const total: DialerConvergence = { converged: 0, lastConvergedAt: 0, lastConnectedAt: 0, firstMismatch: undefined };
    for (const reply of replies) {
      if (reply.type !== 'convergence') continue;
      const c = reply.convergence;
      total.converged += c.converged;
      total.lastConvergedAt = Math.max(total.lastConvergedAt, c.lastConvergedAt);
      total.lastConnectedAt = Math.max(total.lastConnectedAt, c.lastConnectedAt);
      total.firstMismatch ??= c.firstMismatch;
    }
    return total;
  }

  /** Down messages of every edge's latest connection. */
  async messages(): Promise<MessageCount> {
    let count: MessageCount = { total: 0, redundant: 0, byOperation: { insert: 0, update: 0, delete: 0 } };
    for (const reply of await this.all({ type: 'messages' })) if (reply.type === 'messages') count = addCounts(count, reply.count);
    return count;
  }

  /** Disconnects every edge and ends the dialers (killed if they do not exit within 10 s). */
  async stop(): Promise<void> {
    await Promise.all(
      this.dialers.map(async (dialer) => {
        if (dialer.child.exitCode !== null || dialer.child.signalCode !== null) return;
        const killer = setTimeout(() => dialer.child.kill('SIGKILL'), 10_000);
        await this.request(dialer, { type: 'stop' }).catch(() => undefined);
        await dialer.exited;
        clearTimeout(killer);
      }),
    );
  }

  private all(command: DialerCommand): Promise<DialerReply[]> {
    return Promise.all(this.dialers.map((dialer) => this.request(dialer, command)));
  }

  private request(dialer: Dialer, command: DialerCommand): Promise<DialerReply> {
    const id = this.nextId++;
    return new Promise<DialerReply>((resolve, reject) => {
      dialer.pending.set(id, { resolve, reject });
      dialer.child.send({ id, command } satisfies DialerRequest, (error) => {
        if (error) {
          dialer.pending.delete(id);
          reject(error);
        }
      });
    });
  }
}
