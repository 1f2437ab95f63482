// MetaStore: the edge's copy of the objects the cloud pushed to this node, in SQLite, plus a local
// change log for watches. Local revisions (not cloud resourceVersions) order the log: the edge holds
// a subset of the cloud's objects, received in per-node order, so only a local counter is monotonic.
import type { KubeObject } from '@kedge/kube-core';
import type { Message } from '@kedge/protocol';
import { GroupCommit } from '@kedge/sqlite';
import type { Logger } from '@kedge/telemetry';
import type BetterSqlite3 from 'better-sqlite3';
import type { Registry } from 'prom-client';
import { parseDownMessage, type DownChange } from '../down-message';
import { LocalRevisionCompactedError, MetaManagerError, StoreClosedError } from '../errors';
import { storeNamespace, type StoredObject } from '../kube-object';
import { compileSelector, type ObjectSelector } from '../selectors';
import { ChangeFeed, type ChangeEvent, type ChangeListener } from './change-feed';
import { openMetaDatabase, prepareStatements, type ChangeRow, type ObjectRow, type Statements } from './database';
import { OutboxTable } from './outbox-table';
import { PodReviewTable } from './pod-review-table';

export interface MetaStoreOptions {
  /** the SQLite file, e.g. /var/lib/kedge/edgecore.db */
  file: string;
  /** how many local changes the log keeps for resuming watches (default 10,000) */
  keepChanges?: number;
  busyTimeoutMs?: number;
  /** told about failing watch listeners */
  logger?: Logger;
  /** where the group commit metrics go (`store="metamanager"`) */
  registry?: Registry;
}

export type ApplyReason =
  | 'created'
  | 'updated'
  | 'deleted'
  /** same cloud resourceVersion as stored: a resend */
  | 'duplicate'
  /** older than the stored (or recently deleted) version */
  | 'stale'
  /** a delete for an object the edge does not have */
  | 'not-found';

export interface ApplyResult {
  applied: boolean;
  reason: ApplyReason;
  /** the local revision of the change, when applied */
  localRevision?: number;
}

const DEFAULT_KEEP_CHANGES = 10_000;

function objectOf(row: ObjectRow | ChangeRow, localRevision: number): StoredObject {
  return {
    type: row.type,
    namespace: row.namespace,
    name: row.name,
    resourceVersion: row.resource_version,
    localRevision,
    object: JSON.parse(row.value) as KubeObject,
  };
}

export interface InventoryItem {
  type: string;
  /** `null` for cluster-scoped objects, as in resource keys */
  namespace: string;
  name: string;
  /** the cloud's resourceVersion of the stored copy, as a decimal string */
  resourceVersion: string;
}

export class MetaStore {
  readonly file: string;
  readonly outbox: OutboxTable;
  /** pods' confirmed token reviews and read decisions, for MetaServer offline (see PodAccess) */
  readonly podReviews: PodReviewTable;
  readonly #db: BetterSqlite3.Database;
  readonly #sql: Statements;
  readonly #feed: ChangeFeed;
  readonly #commits: GroupCommit;
  readonly #keepChanges: number;
  readonly #applyInTransaction: (change: DownChange) => { result: ApplyResult; event?: ChangeEvent };
  #revision: number;
  #compactedThrough: number;
  #closed = false;

  constructor(options: MetaStoreOptions) {
    const keep = options.keepChanges ?? DEFAULT_KEEP_CHANGES;
    if (!Number.isSafeInteger(keep) || keep < 1) {
      throw new MetaManagerError('INVALID_OPTION', `keepChanges must be a positive integer, got ${String(keep)}`, 'keepChanges');
    }
    this.file = options.file;
    this.#keepChanges = keep;
    this.#db = openMetaDatabase(options.file, options.busyTimeoutMs ?? 5_000);
    this.#sql = prepareStatements(this.#db);
    this.#commits = new GroupCommit({ db: this.#db, file: options.file, store: 'metamanager', ...(options.registry === undefined ? {} : { registry: options.registry }) });
    this.#feed = new ChangeFeed(options.logger);
    this.#revision = this.#sql.currentRevision.get()?.seq ?? 0;
    this.#compactedThrough = this.#sql.readState.get('compacted_through')?.value ?? 0;
    this.#applyInTransaction = this.#db.transaction((change: DownChange) => this.#applyChange(change));
    const assertOpen = (action: string): void => this.#assertOpen(action);
    this.outbox = new OutboxTable(this.#db, this.#sql, assertOpen, () => void this.#commits.noteCommit());
    this.podReviews = new PodReviewTable(this.#db, this.#sql, assertOpen, () => this.#commits.syncNow());
  }

  /**
   * Applies a down message (insert/update/delete) in one transaction. Insert and update apply only a
   * newer cloud resourceVersion than the stored one (or than a recently deleted one); a delete applies
   * unless it carries an older version than the stored object. When this returns the change is
   * committed (safe from a process crash) and watchers have been told; ACK it to the cloud only after
   * `whenDurable()`, when it is on disk too.
   * @throws BadMessageError (nothing written) naming the field at fault
   */
  apply(message: Message): ApplyResult {
    this.#assertOpen('apply a message');
    const change = parseDownMessage(message);
    const revision = this.#revision;
    const compactedThrough = this.#compactedThrough;
    let applied: { result: ApplyResult; event?: ChangeEvent };
    try {
      applied = this.#applyInTransaction(change);
    } catch (error) {
      // rolled back (disk full, I/O error): the cached counters must not run ahead of the file
      this.#revision = revision;
      this.#compactedThrough = compactedThrough;
      throw error;
    }
    const { result, event } = applied;
    if (result.applied) this.#commits.noteCommit();
    if (event) this.#feed.publish(event);
    return result;
  }

  /**
   * Resolves once every write made so far (applied messages, outbox changes) is on disk; at once when
   * nothing is pending. Rejects with GroupCommitError when an fsync failed: then nothing more may be
   * acknowledged until the store is reopened.
   */
  whenDurable(): Promise<void> {
    return this.#commits.whenDurable();
  }

  /** Writes committed but not yet on disk (waiting for the group commit fsync). */
  get pendingWrites(): number {
    return this.#commits.committedSequence - this.#commits.durableSequence;
  }

  get(type: string, namespace: string | undefined, name: string): StoredObject | undefined {
    this.#assertOpen('read');
    const row = this.#sql.get.get(type, storeNamespace(namespace), name);
    return row === undefined ? undefined : objectOf(row, row.local_revision);
  }

  /**
   * Objects of a type, sorted by namespace and name; all namespaces when `namespace` is undefined.
   * @throws InvalidSelectorError
   */
  list(type: string, namespace?: string, selector?: ObjectSelector): StoredObject[] {
    this.#assertOpen('list');
    const matches = compileSelector(type, selector);
    const rows = namespace === undefined ? this.#sql.listAll.all(type) : this.#sql.listNamespace.all(type, storeNamespace(namespace));
    return rows.map((row) => objectOf(row, row.local_revision)).filter((stored) => matches(stored.object));
  }

  /** The revision of the latest local change (0 for an empty store); it survives restarts. */
  get localRevision(): number {
    return this.#revision;
  }

  /** The oldest revision a watch can resume from; older ones were compacted away. */
  get oldestResumableRevision(): number {
    return this.#compactedThrough;
  }

  /**
   * Calls `listener` for every change of `type` (in `namespace`, or all) after `afterLocalRevision`:
   * first those already in the log, then live ones as they commit.
   * @returns a function that stops the watch
   * @throws LocalRevisionCompactedError when the log no longer (or never) covers that revision
   */
  watch(type: string, namespace: string | undefined, afterLocalRevision: number, listener: ChangeListener): () => void {
    this.#assertOpen('watch');
    if (!Number.isSafeInteger(afterLocalRevision) || afterLocalRevision < 0) {
      throw new MetaManagerError('INVALID_OPTION', `afterLocalRevision must be a non-negative integer, got ${String(afterLocalRevision)}`, 'afterLocalRevision');
    }
    if (afterLocalRevision < this.#compactedThrough || afterLocalRevision > this.#revision) {
      throw new LocalRevisionCompactedError(afterLocalRevision, this.#compactedThrough, this.#revision);
    }
    const wanted = namespace === undefined ? undefined : storeNamespace(namespace);
    // all() rather than iterate(): a listener may write to the store, which a running cursor forbids
    for (const row of this.#sql.changesAfter.all(afterLocalRevision, type)) {
      if (wanted !== undefined && row.namespace !== wanted) continue;
      listener({ type: row.event, object: objectOf(row, row.local_revision) });
    }
    return this.#feed.subscribe(type, wanted, listener);
  }

  /** Every stored object's identity and cloud resourceVersion: what the edge tells the cloud it has. */
  inventory(): InventoryItem[] {
    this.#assertOpen('inventory');
    return this.#sql.inventory.all().map((row) => ({
      type: row.type,
      namespace: row.namespace,
      name: row.name,
      resourceVersion: String(row.resource_version),
    }));
  }

  /** How many objects of each type are stored. */
  countByType(): Map<string, number> {
    this.#assertOpen('count');
    return new Map(this.#sql.countByType.all().map((row) => [row.type, row.count]));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every watch and closes the database. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.clear();
    this.#commits.close();
    this.#db.close();
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new StoreClosedError(action);
  }

  #applyChange(change: DownChange): { result: ApplyResult; event?: ChangeEvent } {
    const { type, namespace, name, resourceVersion } = change;
    const sql = this.#sql;
    const current = sql.version.get(type, namespace, name);
    if (change.operation === 'delete') {
      if (current === undefined) return { result: { applied: false, reason: 'not-found' } };
      // an equal version deletes: the cloud's resync sends a delete carrying the last synced version
      if (resourceVersion !== undefined && resourceVersion < current.resource_version) {
        return { result: { applied: false, reason: 'stale' } };
      }
      const deletedVersion = resourceVersion ?? current.resource_version;
      const revision = this.#append(change, 'DELETED', deletedVersion, current.value);
      sql.remove.run(type, namespace, name);
      sql.putTombstone.run(type, namespace, name, deletedVersion, revision);
      this.#compact(revision);
      const event = this.#event('DELETED', change, deletedVersion, revision, current.value);
      return { result: { applied: true, reason: 'deleted', localRevision: revision }, event };
    }
    // insert and update are the same to the store: the newer version wins (secrets arrive as updates)
    const version = resourceVersion ?? 0n;
    if (current !== undefined) {
      if (version === current.resource_version) return { result: { applied: false, reason: 'duplicate' } };
      if (version < current.resource_version) return { result: { applied: false, reason: 'stale' } };
    } else {
      const tombstone = sql.tombstone.get(type, namespace, name);
      if (tombstone !== undefined && version <= tombstone.resource_version) return { result: { applied: false, reason: 'stale' } };
    }
    const eventType = current === undefined ? 'ADDED' : 'MODIFIED';
    const revision = this.#append(change, eventType, version, change.value);
    sql.upsert.run(type, namespace, name, version, revision, change.value);
    if (current === undefined) sql.dropTombstone.run(type, namespace, name);
    this.#compact(revision);
    const event = this.#event(eventType, change, version, revision, change.value);
    return { result: { applied: true, reason: current === undefined ? 'created' : 'updated', localRevision: revision }, event };
  }

  #append(change: DownChange, event: ChangeEvent['type'], version: bigint, value: string): number {
    const revision = Number(this.#sql.appendChange.run(change.type, change.namespace, change.name, event, version, value).lastInsertRowid);
    this.#revision = revision;
    return revision;
  }

  #event(type: ChangeEvent['type'], change: DownChange, version: bigint, revision: number, value: string): ChangeEvent {
    const object = JSON.parse(value) as KubeObject;
    return {
      type,
      object: { type: change.type, namespace: change.namespace, name: change.name, resourceVersion: version.toString(), localRevision: revision, object },
    };
  }

  /** Keeps the last keepChanges log entries; runs inside the apply transaction, so it is atomic with it. */
  #compact(revision: number): void {
    const horizon = revision - this.#keepChanges;
    if (horizon <= this.#compactedThrough) return;
    this.#sql.compactChanges.run(horizon);
    this.#sql.compactTombstones.run(horizon);
    this.#sql.writeState.run(horizon, 'compacted_through');
    this.#compactedThrough = horizon;
  }
}
