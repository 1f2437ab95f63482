// The contract between the API layer and its storage, modelled on kine: one append-only log whose
// row id is the global revision. An object's resourceVersion is the revision of its latest row.
// Values are the object's JSON text; the API layer sets metadata.resourceVersion from `revision`
// when it returns an object, so storage never has to rewrite JSON.

/** Keys look like Kubernetes' etcd keys: `/registry/<group or "core">/<plural>/<namespace>/<name>`
 *  for namespaced objects and `/registry/<group or "core">/<plural>/<name>` for cluster-scoped ones. */
export type StorageKey = string;

export interface StoredObject {
  key: StorageKey;
  /** revision of the row that wrote this version (its resourceVersion) */
  revision: number;
  /** revision at which the object was created (stays the same across updates) */
  createRevision: number;
  /** the object's JSON text */
  value: string;
}

export type StorageEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: StorageEventType;
  key: StorageKey;
  /** the revision of this event; for DELETED the revision of the delete itself */
  revision: number;
  /** for ADDED/MODIFIED the new value; for DELETED the last value before deletion */
  value: string;
  /** the previous value for MODIFIED and DELETED (lets the API layer evaluate label selectors on the old object) */
  prevValue?: string;
}

export interface ListOptions {
  /** most items to return; 0 or undefined = all */
  limit?: number;
  /** return keys strictly after this one (for `continue` tokens) */
  startAfterKey?: StorageKey;
  /** list as of this revision (consistent paging); must not be older than the compacted revision */
  atRevision?: number;
}

export interface ListResult {
  items: StoredObject[];
  /** the revision the list reflects: atRevision if given, else the current revision */
  revision: number;
  /** true when more items follow the last returned one */
  more: boolean;
}

export interface WatchHandle {
  stop(): void;
}

export interface ObjectStorage {
  /** the newest revision written (0 on an empty store) */
  currentRevision(): number;
  /** revisions at or below this were compacted; watching or listing from them fails with RevisionCompactedError */
  compactedRevision(): number;
  /** `remember`: keep the row cached for the next get of the key (exact; for rows many requests read) */
  get(key: StorageKey, options?: { remember?: boolean }): StoredObject | undefined;
  /** all live objects whose key starts with `prefix`, in key order */
  list(prefix: string, options?: ListOptions): ListResult;
  /** throws KeyExistsError if a live object has this key */
  create(key: StorageKey, value: string): StoredObject;
  /** throws KeyNotFoundError, or RevisionConflictError when the current revision is not `expectedRevision` */
  update(key: StorageKey, expectedRevision: number, value: string): StoredObject;
  /** returns the deleted object with `revision` = the delete's revision; throws KeyNotFoundError or RevisionConflictError */
  delete(key: StorageKey, expectedRevision?: number): StoredObject;
  /**
   * Events for keys starting with `prefix` and revision > `afterRevision`, first replayed from the log, then live,
   * in revision order, each exactly once. Throws RevisionCompactedError if afterRevision < compactedRevision().
   * Live events come once the write is on disk (after the group commit fsync that covers it), never before.
   */
  watch(prefix: string, afterRevision: number, listener: (event: StorageEvent) => void): WatchHandle;
  /**
   * Resolves once every write made so far is on disk; a write is acknowledged only after it. With a
   * `mark` from durabilityMark() taken before the caller's writes, it also rejects when a batch of
   * writes was rolled back since (the caller's writes may have been in it).
   */
  whenDurable(mark?: number): Promise<void>;
  /** see whenDurable */
  durabilityMark(): number;
  /** drop history older than the newest `keepRevisions` revisions; returns the new compacted revision */
  compact(keepRevisions: number): number;
  close(): void;
}
