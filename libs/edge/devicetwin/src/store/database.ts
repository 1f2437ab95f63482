// Opening the twin database (@kedge/sqlite: WAL, synchronous=NORMAL + group commit, foreign keys, migrations) and the prepared statements the
// store uses. KubeEdge's tables are device / device_attr / device_twin; ours keep those three roles
// and hold typed values (JSON) plus each property's type and limits beside its twin.
import { openSqliteDatabase, type Migration } from '@kedge/sqlite';
import type BetterSqlite3 from 'better-sqlite3';

export interface DeviceRow {
  id: string;
  namespace: string;
  name: string;
  description: string;
  model: string;
  resource_version: string;
  state: string;
  last_online: number | null;
}

export interface AttributeRow {
  device_id: string;
  name: string;
  value: string;
}

export interface TwinRow {
  device_id: string;
  name: string;
  type: string;
  access_mode: string;
  minimum: number | null;
  maximum: number | null;
  unit: string | null;
  description: string | null;
  expected: string | null;
  expected_ts: number | null;
  actual: string | null;
  actual_ts: number | null;
  version: number;
}

/** Version 1 is the schema edgecore shipped before migrations were listed; append new versions, never edit shipped ones. */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'devices, attributes, twins, tombstones and membership version',
    up: (db) =>
      db.exec(`
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'unknown' CHECK (state IN ('online', 'offline', 'unknown')),
  last_online INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_attrs (
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (device_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_twins (
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('int', 'float', 'double', 'boolean', 'string', 'bytes')),
  access_mode TEXT NOT NULL CHECK (access_mode IN ('ReadWrite', 'ReadOnly')),
  minimum REAL,
  maximum REAL,
  unit TEXT,
  description TEXT,
  expected TEXT,
  expected_ts INTEGER,
  actual TEXT,
  actual_ts INTEGER,
  version INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, name)
) WITHOUT ROWID;
-- the resourceVersion of removed devices, so a late resend of an older add cannot bring them back
CREATE TABLE IF NOT EXISTS device_tombstones (
  id TEXT PRIMARY KEY,
  resource_version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS twin_state (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO twin_state (key, value) VALUES ('membership_version', 0);
`),
  },
];

/**
 * Opens (or creates) the twin database and brings it to the last migration's version. It needs a file
 * of its own: the schema version is recorded per file (user_version).
 * @throws SchemaTooNewError (from @kedge/sqlite) for a file written by a newer edgecore
 */
export function openTwinDatabase(file: string, busyTimeoutMs: number): BetterSqlite3.Database {
  return openSqliteDatabase(file, {
    purpose: 'device twin store',
    migrations: MIGRATIONS,
    // a result published to a mapper (and its PUBACK) says the value is stored: it must survive a power
    // cut. NORMAL commits without an fsync; the TwinStore's GroupCommit fsyncs the WAL once for every
    // commit that queued up, and DeviceTwin answers only after that fsync
    synchronous: 'NORMAL',
    // attributes and twins go with their device (ON DELETE CASCADE)
    foreignKeys: true,
    busyTimeoutMs,
    unversioned: { version: 1, tables: ['devices', 'device_attrs', 'device_twins', 'device_tombstones', 'twin_state'] },
  }).db;
}

export type Statements = ReturnType<typeof prepareStatements>;

const DEVICE_COLUMNS = 'id, namespace, name, description, model, CAST(resource_version AS TEXT) AS resource_version, state, last_online';

export function prepareStatements(db: BetterSqlite3.Database) {
  return {
    device: db.prepare<[string], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE id = ?`),
    devices: db.prepare<[], DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices ORDER BY id`),
    deviceVersion: db.prepare<[string], { resource_version: bigint }>('SELECT resource_version FROM devices WHERE id = ?').safeIntegers(true),
    deviceVersions: db.prepare<[], { id: string; resource_version: bigint }>('SELECT id, resource_version FROM devices').safeIntegers(true),
    countDevices: db.prepare<[], { count: number }>('SELECT COUNT(*) AS count FROM devices'),
    upsertDevice: db.prepare<[string, string, string, string, string, bigint]>(
      `INSERT INTO devices (id, namespace, name, description, model, resource_version) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET description = excluded.description, model = excluded.model, resource_version = excluded.resource_version`,
    ),
    deleteDevice: db.prepare<[string]>('DELETE FROM devices WHERE id = ?'),
    setState: db.prepare<[string, number | null, string]>('UPDATE devices SET state = ?, last_online = COALESCE(?, last_online) WHERE id = ?'),
    attributes: db.prepare<[string], AttributeRow>('SELECT device_id, name, value FROM device_attrs WHERE device_id = ? ORDER BY name'),
    allAttributes: db.prepare<[], AttributeRow>('SELECT device_id, name, value FROM device_attrs ORDER BY device_id, name'),
    clearAttributes: db.prepare<[string]>('DELETE FROM device_attrs WHERE device_id = ?'),
    putAttribute: db.prepare<[string, string, string]>('INSERT INTO device_attrs (device_id, name, value) VALUES (?, ?, ?)'),
    twins: db.prepare<[string], TwinRow>('SELECT * FROM device_twins WHERE device_id = ? ORDER BY name'),
    allTwins: db.prepare<[], TwinRow>('SELECT * FROM device_twins ORDER BY device_id, name'),
    putTwin: db.prepare<[string, string, string, string, number | null, number | null, string | null, string | null, string | null, number | null, string | null, number | null, number]>(
      `INSERT INTO device_twins (device_id, name, type, access_mode, minimum, maximum, unit, description, expected, expected_ts, actual, actual_ts, version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device_id, name) DO UPDATE SET type = excluded.type, access_mode = excluded.access_mode, minimum = excluded.minimum,
         maximum = excluded.maximum, unit = excluded.unit, description = excluded.description, expected = excluded.expected,
         expected_ts = excluded.expected_ts, actual = excluded.actual, actual_ts = excluded.actual_ts, version = excluded.version`,
    ),
    deleteTwin: db.prepare<[string, string]>('DELETE FROM device_twins WHERE device_id = ? AND name = ?'),
    report: db.prepare<[string, number, number, string, string]>('UPDATE device_twins SET actual = ?, actual_ts = ?, version = ? WHERE device_id = ? AND name = ?'),
    tombstone: db.prepare<[string], { resource_version: bigint }>('SELECT resource_version FROM device_tombstones WHERE id = ?').safeIntegers(true),
    putTombstone: db.prepare<[string, bigint]>(
      `INSERT INTO device_tombstones (id, resource_version) VALUES (?, ?)
       ON CONFLICT (id) DO UPDATE SET resource_version = MAX(resource_version, excluded.resource_version)`,
    ),
    dropTombstone: db.prepare<[string]>('DELETE FROM device_tombstones WHERE id = ?'),
    membershipVersion: db.prepare<[], { value: bigint }>("SELECT value FROM twin_state WHERE key = 'membership_version'").safeIntegers(true),
    setMembershipVersion: db.prepare<[bigint]>("UPDATE twin_state SET value = ? WHERE key = 'membership_version'"),
  };
}
