// Group commit: transactions that commit close together share one fsync, and whoever acknowledges a
// write waits for the fsync that covers it.
//
// The store commits each transaction synchronously, as before, on a connection in WAL mode with
// `synchronous=NORMAL`: SQLite then writes the transaction's WAL frames (to the OS page cache) without an
// fsync, keeps the file consistent, and syncs on its own only around checkpoints. The commit is safe
// from a process crash (kill -9) at once. GroupCommit adds what makes it safe from a power cut: one
// fsync of the `-wal` file, run on libuv's thread pool so the event loop keeps serving while the disk
// works. Every commit written before that fsync started is durable when it ends (WAL frames are only
// ever appended, and recovery keeps the longest valid prefix), so one fsync covers every commit that
// queued up meanwhile. Per-write failures need no savepoints: each write stays its own transaction.
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Counter, Histogram, type Registry } from 'prom-client';
import { GroupCommitError } from './errors';

export interface GroupCommitOptions {
  /** the connection (WAL mode, `synchronous=NORMAL`), checked at construction */
  db: BetterSqlite3.Database;
  /** its database file; the `-wal` file beside it is what is synced */
  file: string;
  /** the `store` label of the metrics, e.g. `apiserver` or `devicetwin` */
  store: string;
  /** where the metrics go (none without) */
  registry?: Registry;
}

interface Waiter {
  /** resolved once this commit sequence number is durable */
  sequence: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface GroupCommitMetrics {
  batchSize: Histogram<'store'>;
  syncSeconds: Histogram<'store'>;
  failures: Counter<'store'>;
}

/** One set per registry: several stores in one process share the metric and differ by `store`. */
function metricsFor(registry: Registry): GroupCommitMetrics {
  const existing = (name: string) => registry.getSingleMetric(name);
  return {
    batchSize:
      (existing('kedge_sqlite_group_commit_batch_size') as Histogram<'store'> | undefined) ??
      new Histogram({
        name: 'kedge_sqlite_group_commit_batch_size',
        help: 'Transactions made durable by one fsync of the WAL (group commit)',
        labelNames: ['store'],
        buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
        registers: [registry],
      }),
    syncSeconds:
      (existing('kedge_sqlite_group_commit_sync_seconds') as Histogram<'store'> | undefined) ??
      new Histogram({
        name: 'kedge_sqlite_group_commit_sync_seconds',
        help: 'Duration of one group commit fsync of the WAL',
        labelNames: ['store'],
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers: [registry],
      }),
    failures:
      (existing('kedge_sqlite_group_commit_failures_total') as Counter<'store'> | undefined) ??
      new Counter({
        name: 'kedge_sqlite_group_commit_failures_total',
        help: 'Failed fsyncs of the WAL; the store then refuses to acknowledge writes until it is reopened',
        labelNames: ['store'],
        registers: [registry],
      }),
  };
}

export class GroupCommit {
  readonly file: string;
  readonly #walFile: string;
  readonly #store: string;
  readonly #metrics: GroupCommitMetrics | undefined;
  readonly #durableListeners = new Set<(sequence: number) => void>();
  /** the last commit noted, and the last one known to be on disk */
  #committed = 0;
  #durable = 0;
  #waiters: Waiter[] = [];
  #scheduled = false;
  #syncing = false;
  #fd: number | undefined;
  #failure: GroupCommitError | undefined;
  #closed = false;

  /** @throws GroupCommitError unless `db` is in WAL mode with synchronous=NORMAL */
  constructor(options: GroupCommitOptions) {
    this.file = options.file;
    this.#walFile = `${options.file}-wal`;
    this.#store = options.store;
    const journal = String(options.db.pragma('journal_mode', { simple: true }));
    const synchronous = Number(options.db.pragma('synchronous', { simple: true }));
    // FULL would fsync every commit again; OFF would skip the syncs around checkpoints that keep the file consistent
    if (journal !== 'wal' || synchronous !== 1) {
      throw new GroupCommitError(this.file, `needs journal_mode=WAL and synchronous=NORMAL, found journal_mode=${journal} and synchronous=${synchronous}`);
    }
    this.#metrics = options.registry === undefined ? undefined : metricsFor(options.registry);
  }

  /** the sequence number of the last commit noted */
  get committedSequence(): number {
    return this.#committed;
  }

  /** every commit up to this sequence number is on disk */
  get durableSequence(): number {
    return this.#durable;
  }

  /**
   * Notes that a transaction just committed on this connection. Its fsync starts once the current
   * event-loop turn ends (so what else commits in this turn shares it), or when the running fsync ends.
   * @returns its sequence number, for `whenDurable` and `onDurable`
   */
  noteCommit(): number {
    this.#committed += 1;
    this.#schedule();
    return this.#committed;
  }

  /**
   * Resolves once commit `sequence` (default: every commit noted so far) is on disk; at once when it is.
   * Rejects with GroupCommitError when the fsync failed or the store was closed first.
   */
  whenDurable(sequence = this.#committed): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (sequence <= this.#durable) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ sequence, resolve, reject }));
  }

  /** Calls `listener(sequence)` after each fsync, with the last commit it made durable. @returns unsubscribe */
  onDurable(listener: (sequence: number) => void): () => void {
    this.#durableListeners.add(listener);
    return () => void this.#durableListeners.delete(listener);
  }

  /**
   * Notes a commit and makes everything committed so far durable before returning: a blocking fsync on
   * the event loop, for rare writes whose caller answers synchronously and must not answer before the
   * disk has them (e.g. security decisions). A group commit fsync already running is not waited for:
   * this one covers every commit it covers, and more.
   * @throws GroupCommitError when the fsync fails (and then every later `whenDurable` rejects too)
   */
  syncNow(): void {
    const upTo = this.noteCommit();
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed) throw new GroupCommitError(this.file, 'the store is closed');
    const started = performance.now();
    try {
      fsyncSync(this.#openWal());
    } catch (error) {
      this.#fail(error);
      throw this.#failure ?? error;
    }
    this.#synced(upTo, upTo - this.#durable, (performance.now() - started) / 1000);
  }

  /**
   * Syncs what is still pending (blocking: it runs once, at shutdown) and releases the WAL file handle.
   * Call it before closing the connection.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#failure === undefined && this.#committed > this.#durable) {
      const upTo = this.#committed;
      try {
        fsyncSync(this.#openWal());
        this.#synced(upTo, 0, 0);
      } catch (error) {
        this.#fail(error);
      }
    }
    this.#fail(new GroupCommitError(this.file, 'the store was closed before this write was made durable'), false);
    // a running fsync still holds the descriptor; it is closed when that fsync returns
    if (!this.#syncing) this.#closeWal();
  }

  #schedule(): void {
    if (this.#scheduled || this.#syncing || this.#failure !== undefined || this.#closed) return;
    this.#scheduled = true;
    // after the current turn: the other requests read in this turn commit too and share the fsync
    setImmediate(() => {
      this.#scheduled = false;
      // syncPending() may have started it meanwhile; the running fsync re-syncs what it does not cover
      if (!this.#syncing) this.#sync();
    });
  }

  /**
   * Starts the fsync of every commit noted so far now, rather than after the current turn: for a
   * caller that has already gathered a turn's writes into one transaction. When an fsync is running,
   * the next one starts as it ends, as usual.
   */
  syncPending(): void {
    if (this.#syncing || this.#failure !== undefined || this.#closed) return;
    this.#sync();
  }

  #sync(): void {
    if (this.#closed || this.#failure !== undefined || this.#committed <= this.#durable) return;
    const upTo = this.#committed;
    const batch = upTo - this.#durable;
    let fd: number;
    try {
      fd = this.#openWal();
    } catch (error) {
      this.#fail(error);
      return;
    }
    this.#syncing = true;
    const started = performance.now();
    fsync(fd, (error) => {
      this.#syncing = false;
      if (this.#closed) {
        this.#closeWal();
        return;
      }
      if (error) {
        this.#fail(error);
        return;
      }
      this.#synced(upTo, batch, (performance.now() - started) / 1000);
      // commits that arrived during this fsync have waited already: the next fsync starts now
      if (this.#committed > this.#durable) this.#sync();
    });
  }

  #synced(upTo: number, batch: number, seconds: number): void {
    // a syncNow() may have covered more while a background fsync ran: the durable mark never goes back
    upTo = Math.max(upTo, this.#durable);
    this.#durable = upTo;
    if (batch > 0) {
      this.#metrics?.batchSize.observe({ store: this.#store }, batch);
      this.#metrics?.syncSeconds.observe({ store: this.#store }, seconds);
    }
    // waiters are kept in the order they asked, so acknowledgements go out in commit order
    const still: Waiter[] = [];
    const ready: Waiter[] = [];
    for (const waiter of this.#waiters) (waiter.sequence <= upTo ? ready : still).push(waiter);
    this.#waiters = still;
    for (const listener of this.#durableListeners) listener(upTo);
    for (const waiter of ready) waiter.resolve();
  }

  /**
   * After a failed fsync the kernel may have dropped the dirty pages, so a later fsync that succeeds
   * proves nothing about them: nothing more is acknowledged until the store is reopened.
   */
  #fail(cause: unknown, count = true): void {
    if (count) this.#metrics?.failures.inc({ store: this.#store });
    this.#failure ??=
      cause instanceof GroupCommitError ? cause : new GroupCommitError(this.file, `fsync of ${this.#walFile} failed: ${(cause as Error).message}`, { cause });
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(this.#failure);
  }

  #openWal(): number {
    if (this.#fd !== undefined) return this.#fd;
    // SQLite keeps the -wal file (the same inode: a checkpoint rewinds or truncates it, never replaces
    // it) for as long as a connection is open, so one descriptor serves the connection's lifetime
    this.#fd = openSync(this.#walFile, 'r');
    // the file's directory entry must reach the disk too, once
    const dir = openSync(dirname(this.#walFile), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return this.#fd;
  }

  #closeWal(): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}
