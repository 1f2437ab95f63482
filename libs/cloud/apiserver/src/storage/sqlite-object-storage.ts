// ObjectStorage on one SQLite file, kine-style: every write appends a row to `log` whose id is the new
// global revision; reads pick the newest row per key at or below a revision. All SQLite calls are
// synchronous (better-sqlite3). The writes of one event-loop turn share one IMMEDIATE transaction (the
// turn batch), committed when the turn ends: a COMMIT costs WAL writes and lock calls several times the
// INSERT itself. Each write is one INSERT, checked before it is made, so a refused write leaves the batch
// as it was. Commits share their fsync (group commit): watchers are told of a write, in revision order,
// once the fsync that covers it has ended, and `whenDurable()` tells the API layer when it may acknowledge.
import { GroupCommit } from '@kedge/sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import { Histogram, type Registry } from 'prom-client';
import {
  KeyExistsError,
  KeyNotFoundError,
  RevisionCompactedError,
  RevisionConflictError,
  RevisionTooNewError,
  StorageClosedError,
} from './errors';
import type { LatestRow, NewRow, Statements } from './database';
import { eventOf, openDatabase, sqliteCode, translate } from './database';
import type { ListOptions, ListResult, ObjectStorage, StorageEvent, StorageKey, StoredObject, WatchHandle } from './object-storage';
import { META_COMPACTED_REVISION } from './schema';
import { PREFIX_RANGE_END, checkCount, checkKey, checkPrefix, checkValue } from './validate';
import type { ListenerErrorHandler } from './watch-hub';
import { WatchHub } from './watch-hub';

export interface SqliteStorageOptions {
  /** path of the database file; created with its schema when missing */
  file: string;
  /** history kept by automatic compaction, in revisions (default 10000) */
  keepRevisions?: number;
  /** how often automatic compaction may run, in ms (default 300000; 0 turns it off) */
  compactIntervalMs?: number;
  /**
   * how often to look for rows written by other connections to the same file and deliver them to this
   * instance's watchers, in ms (default 0 = off: cloudcore is the only writer). They are also picked up
   * by this instance's next write and by `pollLog()`.
   */
  pollIntervalMs?: number;
  /** how long a write waits for another connection's write lock, in ms (default 5000) */
  busyTimeoutMs?: number;
  /** clock for scheduling automatic compaction (default Date.now) */
  now?: () => number;
  /** a watch listener threw; the store and other watchers carry on (default: console.error) */
  onListenerError?: ListenerErrorHandler;
  /** automatic compaction or polling failed, e.g. the file is locked for longer than busyTimeoutMs (default: console.error) */
  onBackgroundError?: (error: unknown) => void;
  /** where the group commit metrics go (`store="apiserver"`) */
  registry?: Registry;
  /**
   * `turn` (default): the writes of one event-loop turn share one transaction, committed when the turn
   * ends; another connection sees them from then on. `each`: every write is committed before it returns
   * (for several connections to one file written alternately within one turn, as some tests do).
   */
  commit?: 'turn' | 'each';
}

export interface GetOptions {
  /**
   * Keep the row in a small in-memory cache for the next `get` of the key (for rows read by many
   * requests, e.g. a namespace on every namespaced create). Exact: the entry is dropped when this store
   * writes the key, and the whole cache when another connection has committed (`PRAGMA data_version`).
   */
  remember?: boolean;
}

interface Written {
  stored: StoredObject;
  event: StorageEvent;
}

const DEFAULT_KEEP_REVISIONS = 10_000;
const DEFAULT_COMPACT_INTERVAL_MS = 5 * 60_000;
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
/** rows kept by `get(key, { remember: true })`; the cache is emptied when full */
const REMEMBERED_ROWS = 1_024;
/** the sequence of a write whose turn batch has not committed yet: no fsync covers it */
const UNCOMMITTED = Number.POSITIVE_INFINITY;

/** the open turn batch: its writes' acknowledgements wait for its COMMIT and then its fsync */
interface TurnBatch {
  /** writes made in it (refused ones included: they cost a statement too) */
  writes: number;
  durable: Promise<void> | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}
// compaction deletes in steps of this many revisions, each its own transaction, so it never holds the
// write lock for long
const COMPACT_BATCH = 1_000;

/** Opens (creating if needed) the store at `options.file`. */
export function openSqliteStorage(options: SqliteStorageOptions): SqliteObjectStorage {
  return new SqliteObjectStorage(options);
}

export class SqliteObjectStorage implements ObjectStorage {
  readonly file: string;
  private readonly db: BetterSqlite3.Database;
  private readonly hub: WatchHub;
  private readonly keepRevisions: number;
  private readonly compactIntervalMs: number;
  private readonly now: () => number;
  private readonly onBackgroundError: (error: unknown) => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastCompactAt: number;
  private closed = false;
  private readonly txn: BetterSqlite3.Transaction<(body: () => unknown) => unknown>;
  private readonly sql: Statements;
  private readonly commits: GroupCommit;
  /** this instance's writes whose fsync has not ended yet (UNCOMMITTED: in the open batch), oldest first: not told to watchers yet */
  private undelivered: Array<{ sequence: number; event: StorageEvent }> = [];
  private readonly commitPerTurn: boolean;
  private batch: TurnBatch | undefined;
  /** `get(key, { remember })` rows (undefined: no live object), valid while `rememberedVersion` is the data_version */
  private readonly remembered = new Map<string, StoredObject | undefined>();
  private rememberedVersion = -1;
  private readonly writesPerCommit: Histogram | undefined;
  /** turn batches rolled back so far, and why the last one was */
  private readonly rollbacks: { count: number; last: unknown } = { count: 0, last: undefined };

  constructor(options: SqliteStorageOptions) {
    this.file = options.file;
    this.keepRevisions = checkCount('', 'keepRevisions', options.keepRevisions ?? DEFAULT_KEEP_REVISIONS);
    this.compactIntervalMs = checkCount('', 'compactIntervalMs', options.compactIntervalMs ?? DEFAULT_COMPACT_INTERVAL_MS);
    const pollIntervalMs = checkCount('', 'pollIntervalMs', options.pollIntervalMs ?? 0);
    const busyTimeoutMs = checkCount('', 'busyTimeoutMs', options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    this.now = options.now ?? Date.now;
    this.commitPerTurn = (options.commit ?? 'turn') === 'turn';
    this.onBackgroundError = options.onBackgroundError ?? ((error) => console.error(`storage ${this.file}: background work failed`, error));
    const onListenerError =
      options.onListenerError ?? ((error, event) => console.error(`storage ${this.file}: watch listener failed on ${event.key}@${event.revision}`, error));

    const { db, sql } = openDatabase(this.file, busyTimeoutMs);
    this.db = db;
    this.sql = sql;
    this.txn = db.transaction((body: () => unknown) => body());
    this.writesPerCommit = options.registry === undefined ? undefined : writesPerCommitMetric(options.registry);
    this.commits = new GroupCommit({ db, file: this.file, store: 'apiserver', ...(options.registry === undefined ? {} : { registry: options.registry }) });
    this.commits.onDurable((sequence) => this.deliverDurable(sequence));
    this.hub = new WatchHub(
      { readEvents: (prefix, after, upto, limit) => this.readEvents(prefix, after, upto, limit) },
      this.readCurrentRevision(),
      onListenerError,
    );
    this.lastCompactAt = this.now();
    if (this.compactIntervalMs > 0) this.startTimer(this.compactIntervalMs, () => this.maybeAutoCompact());
    if (pollIntervalMs > 0) this.startTimer(pollIntervalMs, () => this.pollLog());
  }

  currentRevision(): number {
    return this.guard(undefined, () => this.readCurrentRevision());
  }

  compactedRevision(): number {
    return this.guard(undefined, () => this.readCompactedRevision());
  }

  get(key: StorageKey, options?: GetOptions): StoredObject | undefined {
    checkKey(key);
    return this.guard(key, () => {
      if (options?.remember === true) return this.rememberedRow(key);
      const row = this.sql.latest.get(key);
      if (row === undefined || row.deleted === 1) return undefined;
      return { key, revision: row.id, createRevision: row.create_revision, value: row.value };
    });
  }

  list(prefix: string, options: ListOptions = {}): ListResult {
    checkPrefix(prefix);
    const limit = checkCount(prefix, 'limit', options.limit ?? 0);
    const startAfterKey = options.startAfterKey === undefined ? '' : checkPrefix(options.startAfterKey);
    const requested = options.atRevision === undefined ? undefined : checkCount(prefix, 'atRevision', options.atRevision);
    // one read transaction: the revision checks and the rows come from the same snapshot
    return this.guard(prefix, () =>
      this.transact('deferred', () => {
        const current = this.readCurrentRevision();
        const compacted = this.readCompactedRevision();
        const revision = requested ?? current;
        if (revision < compacted) throw new RevisionCompactedError(prefix, revision, compacted);
        if (revision > current) throw new RevisionTooNewError(prefix, revision, current);
        const rows = this.sql.list.all({
          lo: prefix,
          hi: prefix + PREFIX_RANGE_END,
          after: startAfterKey,
          revision,
          limit: limit === 0 ? -1 : limit + 1,
        });
        const more = limit > 0 && rows.length > limit;
        const page = more ? rows.slice(0, limit) : rows;
        const items = page.map((row) => ({ key: row.name, revision: row.id, createRevision: row.create_revision, value: row.value }));
        return { items, revision, more };
      }),
    );
  }

  create(key: StorageKey, value: string): StoredObject {
    checkKey(key);
    checkValue(key, value);
    return this.write(key, (revision) => {
      const latest = this.sql.latest.get(key);
      if (latest !== undefined && latest.deleted === 0) throw new KeyExistsError(key, latest.id);
      this.insert({ id: revision, name: key, created: 1, deleted: 0, create_revision: revision, prev_revision: latest?.id ?? 0, value, old_value: null });
      return {
        stored: { key, revision, createRevision: revision, value },
        event: { type: 'ADDED', key, revision, value },
      };
    }, (current) => new KeyExistsError(key, current));
  }

  update(key: StorageKey, expectedRevision: number, value: string): StoredObject {
    checkKey(key);
    checkCount(key, 'expectedRevision', expectedRevision, 1);
    checkValue(key, value);
    return this.write(key, (revision) => {
      const latest = this.liveRow(key, expectedRevision);
      this.insert({
        id: revision,
        name: key,
        created: 0,
        deleted: 0,
        create_revision: latest.create_revision,
        // the expected revision, not whatever is latest: the unique index then rejects a racing second append
        prev_revision: expectedRevision,
        value,
        old_value: latest.value,
      });
      return {
        stored: { key, revision, createRevision: latest.create_revision, value },
        event: { type: 'MODIFIED', key, revision, value, prevValue: latest.value },
      };
    }, (current) => new RevisionConflictError(key, expectedRevision, current));
  }

  delete(key: StorageKey, expectedRevision?: number): StoredObject {
    checkKey(key);
    if (expectedRevision !== undefined) checkCount(key, 'expectedRevision', expectedRevision, 1);
    return this.write(key, (revision) => {
      const latest = this.liveRow(key, expectedRevision);
      // the tombstone keeps the last value: a DELETED event carries it
      this.insert({
        id: revision,
        name: key,
        created: 0,
        deleted: 1,
        create_revision: latest.create_revision,
        prev_revision: latest.id,
        value: latest.value,
        old_value: latest.value,
      });
      return {
        stored: { key, revision, createRevision: latest.create_revision, value: latest.value },
        event: { type: 'DELETED', key, revision, value: latest.value, prevValue: latest.value },
      };
    }, (current) => new RevisionConflictError(key, expectedRevision ?? current, current));
  }

  watch(prefix: string, afterRevision: number, listener: (event: StorageEvent) => void): WatchHandle {
    checkPrefix(prefix);
    checkCount(prefix, 'afterRevision', afterRevision);
    return this.guard(prefix, () => {
      const compacted = this.readCompactedRevision();
      if (afterRevision < compacted) throw new RevisionCompactedError(prefix, afterRevision, compacted);
      // a future afterRevision is allowed: its events arrive once the store gets there, as with etcd
      return this.hub.watch(prefix, afterRevision, listener, this.visibleRevision());
    });
  }

  /**
   * Deletes rows at or below C = currentRevision - keepRevisions that were superseded by a newer row of
   * their key also at or below C, and tombstones at or below C (kine's rule). Every row above C stays,
   * so lists at any revision >= C and watches from any revision >= C stay exact.
   */
  compact(keepRevisions: number): number {
    checkCount('', 'keepRevisions', keepRevisions);
    return this.guard(undefined, () => {
      const target = Math.min(this.readCurrentRevision() - keepRevisions, this.hub.compactionLimit());
      let compacted = this.readCompactedRevision();
      while (compacted < target) {
        const upto = Math.min(target, compacted + COMPACT_BATCH);
        compacted = this.transact('immediate', () => {
          // another connection may have compacted meanwhile
          const from = this.readCompactedRevision();
          if (from >= upto) return from;
          this.sql.deleteSuperseded.run({ from, upto });
          this.sql.deleteTombstones.run({ from, upto });
          this.sql.setMeta.run(upto, META_COMPACTED_REVISION);
          return upto;
        });
      }
      this.lastCompactAt = this.now();
      // a compacted-away tombstone reads the same (no live object), but keep the cache beyond doubt
      this.remembered.clear();
      return compacted;
    });
  }

  /** Delivers rows written by other connections to this file to this instance's watchers now. */
  pollLog(): void {
    this.guard(undefined, () => this.hub.catchUp(this.visibleRevision()));
  }

  /**
   * Resolves once every write this instance has committed so far is on disk (at once when nothing is
   * pending); acknowledge a write only after it. Rejects with GroupCommitError when an fsync failed.
   */
  whenDurable(mark?: number): Promise<void> {
    // a batch rolled back since the caller's mark may have held its writes: they never happened
    if (mark !== undefined && this.rollbacks.count > mark) return Promise.reject(this.rollbacks.last);
    const batch = this.batch;
    if (batch === undefined) return this.commits.whenDurable();
    batch.durable ??= new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
    });
    return batch.durable;
  }

  durabilityMark(): number {
    return this.rollbacks.count;
  }

  /** Syncs and delivers what is pending, stops the timers and watchers and closes the database; idempotent. Other calls then throw StorageClosedError. */
  close(): void {
    if (this.closed) return;
    for (const timer of this.timers) clearInterval(timer);
    try {
      this.commitBatch();
    } catch (error) {
      // the batch was rolled back and its waiters told; closing goes on
      this.onBackgroundError(error);
    }
    // the last fsync, which also tells the watchers of the writes it covers
    this.commits.close();
    this.closed = true;
    this.hub.close();
    this.db.close();
  }

  /** `lostRace` builds the error for a write the unique index refused, given the key's live revision (0 if none) */
  private write(key: string, body: (revision: number) => Written, lostRace: (current: number) => Error): StoredObject {
    const written = this.guard(key, () => {
      try {
        if (!this.commitPerTurn) return this.transact('immediate', () => body(this.readCurrentRevision() + 1));
        const batch = this.openBatch();
        batch.writes += 1;
        return body(this.readCurrentRevision() + 1);
      } catch (error) {
        // SQLite itself rolled the open batch back (I/O error, disk full): none of its writes happened
        if (this.batch !== undefined && !this.db.inTransaction) this.abortBatch(error);
        const code = sqliteCode(error);
        if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error;
        // another writer appended after the same revision first (only the failed INSERT was undone);
        // report it the way our own checks would have
        const latest = this.sql.latest.get(key);
        throw lostRace(latest === undefined || latest.deleted === 1 ? 0 : latest.id);
      }
    });
    this.remembered.delete(key);
    // watchers hear of it once it is on disk, with the writes of the same fsync, in commit order
    this.undelivered.push({ sequence: this.commitPerTurn ? UNCOMMITTED : this.commits.noteCommit(), event: written.event });
    this.maybeAutoCompact();
    return written.stored;
  }

  /** BEGIN IMMEDIATE once per turn: the write lock is taken up front, so no other connection's commit can
   *  make this batch's reads stale; the batch commits when the turn ends */
  private openBatch(): TurnBatch {
    if (this.batch !== undefined) return this.batch;
    this.sql.begin.run();
    const batch: TurnBatch = { writes: 0, durable: undefined, resolve: () => undefined, reject: () => undefined };
    this.batch = batch;
    setImmediate(() => {
      try {
        this.commitBatch();
      } catch (error) {
        // its waiters were rejected: those requests get no answer, as when an fsync fails
        this.onBackgroundError(error);
      }
    });
    return batch;
  }

  /** commits the open batch and starts its fsync now (the turn is over: nothing more will join it) */
  private commitBatch(): void {
    const batch = this.batch;
    if (batch === undefined || this.closed) return;
    try {
      this.sql.commit.run();
    } catch (error) {
      this.abortBatch(error);
      throw translate(error, this.file);
    }
    this.batch = undefined;
    this.writesPerCommit?.observe(batch.writes);
    const sequence = this.commits.noteCommit();
    for (let i = this.undelivered.length - 1; i >= 0; i--) {
      const entry = this.undelivered[i];
      if (entry === undefined || entry.sequence !== UNCOMMITTED) break;
      entry.sequence = sequence;
    }
    if (batch.durable !== undefined) this.commits.whenDurable(sequence).then(batch.resolve, batch.reject);
    this.commits.syncPending();
  }

  /** the open batch is gone (rolled back): its writes never happened, nothing of it may be acknowledged */
  private abortBatch(error: unknown): void {
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    if (this.db.inTransaction) {
      try {
        this.sql.rollback.run();
      } catch {
        // SQLite may have rolled back on its own meanwhile
      }
    }
    this.undelivered = this.undelivered.filter((entry) => entry.sequence !== UNCOMMITTED);
    this.remembered.clear();
    const reason = translate(error, this.file);
    this.rollbacks.count += 1;
    this.rollbacks.last = reason;
    batch.reject(reason);
  }

  private rememberedRow(key: string): StoredObject | undefined {
    // another connection's commit may have changed any row
    const version = this.sql.dataVersion.get() ?? 0;
    if (version !== this.rememberedVersion) {
      this.remembered.clear();
      this.rememberedVersion = version;
    }
    if (this.remembered.has(key)) return this.remembered.get(key);
    const row = this.sql.latest.get(key);
    const stored = row === undefined || row.deleted === 1 ? undefined : { key, revision: row.id, createRevision: row.create_revision, value: row.value };
    if (this.remembered.size >= REMEMBERED_ROWS) this.remembered.clear();
    this.remembered.set(key, stored);
    return stored;
  }

  /** the fsync of every commit up to `sequence` has ended: tell the watchers, oldest first */
  private deliverDurable(sequence: number): void {
    let count = 0;
    while (count < this.undelivered.length && (this.undelivered[count]?.sequence ?? Infinity) <= sequence) count += 1;
    const ready = this.undelivered.splice(0, count);
    for (const { event } of ready) {
      try {
        this.hub.committed(event);
      } catch (error) {
        // the write is committed and must be reported as such; the hub re-reads this revision from the log
        // together with the next one, so watchers still get it in order
        this.onBackgroundError(error);
      }
    }
  }

  /** the newest revision watchers may be shown: everything below this instance's oldest write not yet on disk */
  private visibleRevision(): number {
    const oldest = this.undelivered[0];
    return oldest === undefined ? this.readCurrentRevision() : oldest.event.revision - 1;
  }

  /** the key's live latest row, or the error update/delete must report */
  private liveRow(key: string, expectedRevision: number | undefined): LatestRow {
    const latest = this.sql.latest.get(key);
    if (latest === undefined || latest.deleted === 1) throw new KeyNotFoundError(key);
    if (expectedRevision !== undefined && latest.id !== expectedRevision) throw new RevisionConflictError(key, expectedRevision, latest.id);
    return latest;
  }

  /** runs `body` in one transaction; IMMEDIATE takes the write lock up front, so a write never has to
   *  upgrade a read snapshot that another connection has already made stale */
  private transact<T>(mode: 'immediate' | 'deferred', body: () => T): T {
    return this.txn[mode](body) as T;
  }

  private insert(row: NewRow): void {
    this.sql.insert.run(row);
  }

  private readCurrentRevision(): number {
    return this.sql.sequence.get() ?? 0;
  }

  private readCompactedRevision(): number {
    return this.sql.meta.get(META_COMPACTED_REVISION) ?? 0;
  }

  private readEvents(prefix: string, afterRevision: number, uptoRevision: number, limit: number): StorageEvent[] {
    return this.sql.events.all({ after: afterRevision, upto: uptoRevision, lo: prefix, hi: prefix + PREFIX_RANGE_END, limit }).map(eventOf);
  }

  private maybeAutoCompact(): void {
    if (this.closed || this.compactIntervalMs === 0 || this.now() - this.lastCompactAt < this.compactIntervalMs) return;
    this.lastCompactAt = this.now();
    try {
      this.compact(this.keepRevisions);
    } catch (error) {
      this.onBackgroundError(error);
    }
  }

  private startTimer(intervalMs: number, tick: () => void): void {
    const timer = setInterval(() => {
      if (this.closed) return;
      try {
        tick();
      } catch (error) {
        this.onBackgroundError(error);
      }
    }, intervalMs);
    // background upkeep must not keep the process alive
    timer.unref();
    this.timers.push(timer);
  }

  /** runs a database call on an open store, turning SQLite corruption codes into CorruptStorageError */
  private guard<T>(key: string | undefined, body: () => T): T {
    if (this.closed) throw new StorageClosedError(this.file, key);
    try {
      return body();
    } catch (error) {
      throw translate(error, this.file);
    }
  }
}

/** One per registry (a registry may serve several stores over its life, e.g. across restarts in tests). */
function writesPerCommitMetric(registry: Registry): Histogram {
  const name = 'kedge_apiserver_storage_writes_per_commit';
  return (
    (registry.getSingleMetric(name) as Histogram | undefined) ??
    new Histogram({
      name,
      help: 'Writes in one SQLite transaction of the API server store (the writes of one event-loop turn share it)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    })
  );
}
