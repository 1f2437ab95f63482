// Writes that arrive in one event-loop turn (a mapper's in-flight window of twin updates, the status
// reports they cause) share one SQLite transaction: committing a transaction costs a WAL write and the
// WAL index's locks (90-150 µs measured here), a statement inside an open one a few µs. The transaction
// opens at the turn's first write and commits once the turn ends; its group commit fsync starts at once.
// The store checks every write before it makes it, so only SQLite itself can fail one; if it does, or the
// COMMIT fails, the whole batch is rolled back and every write in it is reported failed: nothing of it
// may be acknowledged. The store must flush() before any other write of its own (a db.transaction()
// inside the open one would only be a savepoint) and before closing.
import type { GroupCommit } from './group-commit';
import type BetterSqlite3 from 'better-sqlite3';

interface Durable {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class TurnTransaction {
  readonly #commits: GroupCommit;
  readonly #begin: BetterSqlite3.Statement;
  readonly #commit: BetterSqlite3.Statement;
  readonly #rollback: BetterSqlite3.Statement;
  readonly #rolledBack: () => void;
  #open = false;
  /** made on the first `whenDurable` of the open batch, shared by every update in it */
  #durable: Durable | undefined;

  /** `rolledBack` runs after a rollback, e.g. to drop cached rows the batch had written */
  constructor(db: BetterSqlite3.Database, commits: GroupCommit, rolledBack: () => void) {
    this.#commits = commits;
    this.#begin = db.prepare('BEGIN');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#rolledBack = rolledBack;
  }

  /** Runs `write` inside the open batch (opening one). A failing write rolls the whole batch back and throws. */
  write(write: () => void): void {
    if (!this.#open) {
      this.#begin.run();
      this.#open = true;
      setImmediate(() => this.#commitQuietly());
    }
    try {
      write();
    } catch (error) {
      this.#abort(error);
      throw error;
    }
  }

  /**
   * Resolves once the open batch is committed and on disk; undefined when no batch is open (then the
   * store's group commit answers). Rejects when the batch was rolled back or its fsync failed.
   */
  whenDurable(): Promise<void> | undefined {
    if (!this.#open) return undefined;
    if (this.#durable === undefined) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      this.#durable = { promise, resolve, reject };
    }
    return this.#durable.promise;
  }

  /** Commits the open batch now: before any other write or closing. @throws what COMMIT threw (rolled back) */
  flush(): void {
    if (!this.#open) return;
    try {
      this.#commit.run();
    } catch (error) {
      this.#abort(error);
      throw error;
    }
    this.#open = false;
    const sequence = this.#commits.noteCommit();
    const durable = this.#durable;
    this.#durable = undefined;
    if (durable) this.#commits.whenDurable(sequence).then(durable.resolve, durable.reject);
  }

  #commitQuietly(): void {
    try {
      this.flush();
    } catch {
      // the batch's waiters were told (rejected); the requests are answered 500 INTERNAL
      return;
    }
    // the turn is over and its updates are in: their fsync need not wait for another turn
    this.#commits.syncPending();
  }

  #abort(error: unknown): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      this.#rollback.run();
    } catch {
      // SQLite may have rolled back on its own (e.g. after an I/O error)
    }
    const durable = this.#durable;
    this.#durable = undefined;
    this.#rolledBack();
    durable?.reject(error);
  }
}
