// TwinStore: devices bound to this node, their attributes and twins, in SQLite. Every write is checked
// before it starts, so a refused update leaves nothing behind; a cloud write is one transaction. Writes that
// commit close together share one fsync (group commit): answer for a write after `whenDurable()`. Rules:
// desired values are written only from cloud messages, reported values only from the edge.
//
// The store is the only writer of its file, so it keeps the devices it has read as frozen records
// (`#cache`): a twin update is checked against the cached device and writes one UPDATE per property.
// The updates of one event-loop turn share one transaction (`TurnTransaction` from `@kedge/sqlite`), committed when the turn
// ends; `whenDurable()` covers it. A failed write rolls the batch back and drops the cached records,
// as every cloud write does; they are read again from SQLite on the next request.
import { GroupCommit, TurnTransaction } from '@kedge/sqlite';
import type BetterSqlite3 from 'better-sqlite3';
import type { Registry } from 'prom-client';
import { DeviceTwinError, StoreClosedError } from '../errors';
import { deviceId, type DeviceRecord, type DeviceSpec, type DeviceState, type TimedValue, type TwinState, type TwinValue } from '../model';
import { stillValid } from '../values';
import { openTwinDatabase, prepareStatements, type Statements } from './database';
import { deviceOf, frozenDevice, groupBy } from './records';

export interface TwinStoreOptions {
  /** the SQLite file, e.g. /var/lib/kedge/devicetwin.db; its own file, not the MetaStore's (each records its schema version) */
  file: string;
  busyTimeoutMs?: number;
  /** where the group commit metrics go (`store="devicetwin"`) */
  registry?: Registry;
}

export type DeviceChangeReason = 'created' | 'updated' | 'deleted' | 'duplicate' | 'stale' | 'not-found';

/** One twin whose desired or reported value changed (or that appeared or went away). */
export interface TwinChange {
  name: string;
  before: TwinState | undefined;
  after: TwinState | undefined;
}

export interface DeviceChange {
  id: string;
  reason: DeviceChangeReason;
  before: DeviceRecord | undefined;
  after: DeviceRecord | undefined;
  twinChanges: TwinChange[];
}

export interface MembershipResult {
  /** false when the list is older than one already applied */
  applied: boolean;
  /** created, updated and deleted devices (duplicates and stale entries left out) */
  changes: DeviceChange[];
}

export interface ReportedUpdate {
  name: string;
  value: TwinValue;
  /** when given, must equal the twin's current version */
  version?: number;
}

export interface ReportResult {
  device: DeviceRecord;
  changes: TwinChange[];
}

const CHANGED: ReadonlySet<DeviceChangeReason> = new Set(['created', 'updated', 'deleted']);

export class TwinStore {
  readonly file: string;
  readonly #db: BetterSqlite3.Database;
  readonly #sql: Statements;
  readonly #applyDevice: (spec: DeviceSpec) => DeviceChange;
  readonly #removeDevice: (id: string, version: bigint | undefined) => DeviceChange;
  readonly #applyMembership: (version: bigint, specs: DeviceSpec[]) => MembershipResult;
  readonly #commits: GroupCommit;
  readonly #batch: TurnTransaction;
  /** devices as last committed, frozen; only members that were read since the last cloud write */
  readonly #cache = new Map<string, DeviceRecord>();
  #closed = false;

  constructor(options: TwinStoreOptions) {
    this.file = options.file;
    this.#db = openTwinDatabase(options.file, options.busyTimeoutMs ?? 5_000);
    this.#sql = prepareStatements(this.#db);
    this.#commits = new GroupCommit({ db: this.#db, file: options.file, store: 'devicetwin', ...(options.registry === undefined ? {} : { registry: options.registry }) });
    this.#applyDevice = this.#db.transaction((spec: DeviceSpec) => this.#upsert(spec, Date.now()));
    this.#removeDevice = this.#db.transaction((id: string, version: bigint | undefined) => this.#remove(id, version));
    this.#applyMembership = this.#db.transaction((version: bigint, specs: DeviceSpec[]) => this.#membership(version, specs));
    this.#batch = new TurnTransaction(this.#db, this.#commits, () => this.#cache.clear());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Adds or updates one device (newer resourceVersion only; equal = duplicate, older = stale). */
  applyDevice(spec: DeviceSpec): DeviceChange {
    this.#assertOpen('apply a device');
    return this.#cloudWrite(() => this.#applyDevice(spec));
  }

  /** Removes a device unless `version` is older than the stored one; remembers it against late adds. */
  removeDevice(namespace: string, name: string, version?: bigint): DeviceChange {
    this.#assertOpen('remove a device');
    return this.#cloudWrite(() => this.#removeDevice(deviceId(namespace, name), version));
  }

  /**
   * Applies the full list of devices bound to this node, listed at `version` (a Kubernetes
   * resourceVersion): devices in it are added or updated, stored devices missing from it are removed
   * unless they are newer than the list. A list older than one already applied is ignored.
   */
  applyMembership(version: bigint, specs: DeviceSpec[]): MembershipResult {
    this.#assertOpen('apply a membership');
    return this.#cloudWrite(() => this.#applyMembership(version, specs));
  }

  /**
   * Writes reported values (all or none).
   * @throws DeviceTwinError UNKNOWN_DEVICE, UNKNOWN_PROPERTY, VERSION_CONFLICT (nothing written)
   */
  report(id: string, updates: ReportedUpdate[], now = Date.now()): ReportResult {
    this.#assertOpen('report twin values');
    const device = this.device(id);
    if (device === undefined) throw new DeviceTwinError('UNKNOWN_DEVICE', `device ${id} is not bound to this node`, 'device');
    const twins = device.twins.slice();
    const indexes: number[] = [];
    // all checked against the stored device before anything is written: all or nothing
    for (const update of updates) {
      const index = twins.findIndex((twin) => twin.name === update.name);
      const twin = twins[index];
      if (twin === undefined) throw new DeviceTwinError('UNKNOWN_PROPERTY', `model ${device.model} has no property "${update.name}"`, `twin.${update.name}`);
      if (update.version !== undefined && update.version !== twin.version) {
        throw new DeviceTwinError('VERSION_CONFLICT', `version ${update.version} is stale: the twin is at version ${twin.version}`, `twin.${update.name}.version`);
      }
      indexes.push(index);
    }
    const changes: TwinChange[] = [];
    const writes: TwinState[] = [];
    for (let i = 0; i < updates.length; i++) {
      const update = updates[i] as ReportedUpdate;
      const index = indexes[i] as number;
      const before = twins[index] as TwinState;
      const after: TwinState = Object.freeze({ ...before, reported: Object.freeze({ value: update.value, timestamp: now }), version: before.version + 1 });
      twins[index] = after;
      writes.push(after);
      changes.push({ name: update.name, before, after });
    }
    // in this turn's transaction; on failure the batch is rolled back and the cache dropped
    this.#batch.write(() => {
      for (const twin of writes) this.#writeTwin(id, twin);
    });
    const record: DeviceRecord = Object.freeze({ ...device, twins: Object.freeze(twins) as TwinState[] });
    this.#cache.set(id, record);
    return { device: record, changes };
  }

  /** Sets a device's state (online also stamps lastOnline). @returns the device, or undefined if unknown */
  setState(id: string, state: DeviceState, now = Date.now()): DeviceRecord | undefined {
    this.#assertOpen('set a device state');
    this.#batch.flush();
    this.#cache.delete(id);
    const result = this.#sql.setState.run(state, state === 'online' ? now : null, id);
    if (result.changes === 0) return undefined;
    this.#commits.noteCommit();
    return this.device(id);
  }

  /** The device as committed (a frozen record, shared between callers), or undefined if it is not a member. */
  device(id: string): DeviceRecord | undefined {
    this.#assertOpen('read a device');
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached;
    const read = this.#readDevice(id);
    if (read === undefined) return undefined;
    const device = frozenDevice(read);
    // ids that are not members are never cached: a client cannot grow the map by naming devices
    this.#cache.set(id, device);
    return device;
  }

  /** from SQLite, past the cache: what cloud writes see inside their transaction */
  #readDevice(id: string): DeviceRecord | undefined {
    const row = this.#sql.device.get(id);
    return row ? deviceOf(row, this.#sql.attributes.all(id), this.#sql.twins.all(id)) : undefined;
  }

  devices(): DeviceRecord[] {
    this.#assertOpen('list devices');
    const attributes = groupBy(this.#sql.allAttributes.all());
    const twins = groupBy(this.#sql.allTwins.all());
    return this.#sql.devices.all().map((row) => deviceOf(row, attributes.get(row.id) ?? [], twins.get(row.id) ?? []));
  }

  deviceCount(): number {
    this.#assertOpen('count devices');
    return this.#sql.countDevices.get()?.count ?? 0;
  }

  /** The resourceVersion of the last membership list applied (0 before any). */
  membershipVersion(): bigint {
    this.#assertOpen('read the membership version');
    return this.#sql.membershipVersion.get()?.value ?? 0n;
  }

  /**
   * Resolves once every write made so far is on disk (at once when nothing is pending): publish a
   * result or PUBACK an update only after it. Rejects with GroupCommitError when an fsync failed.
   */
  whenDurable(): Promise<void> {
    return this.#batch.whenDurable() ?? this.#commits.whenDurable();
  }

  /** Makes pending writes durable and closes the file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#batch.flush();
    } finally {
      this.#cache.clear();
      this.#commits.close();
      this.#db.close();
    }
  }

  /**
   * A cloud write (one transaction): it reads devices inside the transaction, so the cache is dropped
   * afterwards whether it committed or rolled back. Its fsync is shared with this turn's other writes.
   */
  #cloudWrite<T>(write: () => T): T {
    // the twin updates of this turn commit first: a cloud write is a transaction of its own
    this.#batch.flush();
    try {
      const result = write();
      this.#commits.noteCommit();
      return result;
    } finally {
      this.#cache.clear();
    }
  }

  #writeTwin(id: string, twin: TwinState): void {
    const reported = twin.reported as TimedValue;
    const result = this.#sql.report.run(JSON.stringify(reported.value), reported.timestamp, twin.version, id, twin.name);
    // the cached device said the twin exists; a row that is gone means the cache was wrong (rolled back)
    if (result.changes !== 1) throw new DeviceTwinError('INTERNAL', `twin ${twin.name} of device ${id} is not stored`, `twin.${twin.name}`);
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new StoreClosedError(action);
  }

  #upsert(spec: DeviceSpec, now: number): DeviceChange {
    const sql = this.#sql;
    const id = deviceId(spec.namespace, spec.name);
    const stored = sql.deviceVersion.get(id)?.resource_version;
    const unchanged = (reason: DeviceChangeReason): DeviceChange => ({ id, reason, before: undefined, after: undefined, twinChanges: [] });
    if (stored !== undefined && spec.resourceVersion < stored) return unchanged('stale');
    if (stored !== undefined && spec.resourceVersion === stored) return unchanged('duplicate');
    const tombstone = sql.tombstone.get(id)?.resource_version;
    if (stored === undefined && tombstone !== undefined && spec.resourceVersion <= tombstone) return unchanged('stale');
    const before = stored === undefined ? undefined : this.#readDevice(id);
    sql.upsertDevice.run(id, spec.namespace, spec.name, spec.description, spec.model, spec.resourceVersion);
    sql.dropTombstone.run(id);
    sql.clearAttributes.run(id);
    for (const [name, value] of Object.entries(spec.attributes)) sql.putAttribute.run(id, name, value);
    const previous = new Map((before?.twins ?? []).map((twin) => [twin.name, twin]));
    const twinChanges: TwinChange[] = [];
    for (const property of spec.properties) {
      const prior = previous.get(property.name);
      previous.delete(property.name);
      const desired = spec.desired.get(property.name);
      // cloud wins for desired: whatever the cloud lists now is the desired value
      const desiredChanged = prior?.desired?.value !== desired;
      // edge wins for reported: kept, unless the model no longer allows it
      const reported = prior?.reported && stillValid(prior.reported.value, property) ? prior.reported : undefined;
      const reportedDropped = prior?.reported !== undefined && reported === undefined;
      const version = (prior?.version ?? 0) + (desiredChanged || reportedDropped ? 1 : 0);
      const desiredAt = desired === undefined ? null : desiredChanged ? now : (prior?.desired?.timestamp ?? now);
      sql.putTwin.run(
        id, property.name, property.type, property.accessMode, property.minimum ?? null, property.maximum ?? null, property.unit ?? null,
        property.description ?? null, desired === undefined ? null : JSON.stringify(desired), desiredAt,
        reported ? JSON.stringify(reported.value) : null, reported?.timestamp ?? null, version,
      );
      if (prior === undefined || desiredChanged || reportedDropped) twinChanges.push({ name: property.name, before: prior, after: undefined });
    }
    for (const gone of previous.values()) {
      sql.deleteTwin.run(id, gone.name);
      twinChanges.push({ name: gone.name, before: gone, after: undefined });
    }
    const after = this.#readDevice(id);
    const byName = new Map((after?.twins ?? []).map((twin) => [twin.name, twin]));
    for (const change of twinChanges) change.after = byName.get(change.name);
    return { id, reason: before ? 'updated' : 'created', before, after, twinChanges };
  }

  #remove(id: string, version: bigint | undefined): DeviceChange {
    const sql = this.#sql;
    const stored = sql.deviceVersion.get(id)?.resource_version;
    if (stored === undefined) {
      if (version !== undefined) sql.putTombstone.run(id, version);
      return { id, reason: 'not-found', before: undefined, after: undefined, twinChanges: [] };
    }
    if (version !== undefined && version < stored) return { id, reason: 'stale', before: undefined, after: undefined, twinChanges: [] };
    const before = this.#readDevice(id);
    sql.deleteDevice.run(id);
    sql.putTombstone.run(id, version !== undefined && version > stored ? version : stored);
    const twinChanges = (before?.twins ?? []).map((twin) => ({ name: twin.name, before: twin, after: undefined }));
    return { id, reason: 'deleted', before, after: undefined, twinChanges };
  }

  #membership(version: bigint, specs: DeviceSpec[]): MembershipResult {
    const sql = this.#sql;
    if (version < (sql.membershipVersion.get()?.value ?? 0n)) return { applied: false, changes: [] };
    const now = Date.now();
    const listed = new Set(specs.map((spec) => deviceId(spec.namespace, spec.name)));
    const changes: DeviceChange[] = specs.map((spec) => this.#upsert(spec, now));
    for (const { id, resource_version: stored } of sql.deviceVersions.all()) {
      // a device added after this list was made (newer version) is not the list's to remove
      if (!listed.has(id) && stored <= version) changes.push(this.#remove(id, undefined));
    }
    sql.setMembershipVersion.run(version);
    return { applied: true, changes: changes.filter((change) => CHANGED.has(change.reason)) };
  }
}

