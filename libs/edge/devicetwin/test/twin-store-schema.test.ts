// The twin database's schema versions: a file written by the edgecore before migrations were listed
// (schema version 1, with or without user_version recorded) opens with its devices, attributes, twins,
// tombstones and membership version intact; a file from a newer edgecore is refused.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaTooNewError } from '@kedge/sqlite';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDeviceSpec } from '../src/index';
import { Cleanup, device, openStore, tempDir } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

/** Exactly what openTwinDatabase ran before @kedge/sqlite (it then set user_version = 1). */
const SHIPPED_SCHEMA = `
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
CREATE TABLE IF NOT EXISTS device_tombstones (
  id TEXT PRIMARY KEY,
  resource_version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS twin_state (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO twin_state (key, value) VALUES ('membership_version', 0);
`;

/** A database as the shipped edgecore left it: one online thermostat with a desired and a reported value, one removed device. */
function writeShippedDatabase(file: string, recordVersion: boolean): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SHIPPED_SCHEMA);
  if (recordVersion) db.pragma('user_version = 1');
  db.prepare('INSERT INTO devices (id, namespace, name, description, model, resource_version, state, last_online) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    'default/thermo-1',
    'default',
    'thermo-1',
    'hall',
    'thermostat',
    12,
    'online',
    1_700_000_000_000,
  );
  db.prepare('INSERT INTO device_attrs (device_id, name, value) VALUES (?, ?, ?)').run('default/thermo-1', 'vendor', 'acme');
  const twin = db.prepare(
    `INSERT INTO device_twins (device_id, name, type, access_mode, minimum, maximum, unit, description, expected, expected_ts, actual, actual_ts, version)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  twin.run('default/thermo-1', 'setpoint', 'int', 'ReadWrite', 5, 30, 'C', null, '21', 1_700_000_000_001, '20', 1_700_000_000_002, 2);
  twin.run('default/thermo-1', 'temperature', 'double', 'ReadOnly', null, null, 'C', 'measured', null, null, '19.5', 1_700_000_000_003, 1);
  db.prepare('INSERT INTO device_tombstones (id, resource_version) VALUES (?, ?)').run('default/gone', 9);
  db.prepare(`UPDATE twin_state SET value = 40 WHERE key = 'membership_version'`).run();
  db.close();
}

describe('TwinStore schema', () => {
  for (const recordVersion of [true, false]) {
    it(`upgrade - a database written by the shipped schema (${recordVersion ? 'user_version 1' : 'no user_version'}) keeps devices, twins, tombstones and the membership version`, () => {
      const file = join(tempDir(cleanup), 'devicetwin.db');
      writeShippedDatabase(file, recordVersion);
      const store = openStore(cleanup, file);

      expect(store.device('default/thermo-1')).toMatchObject({
        description: 'hall',
        model: 'thermostat',
        resourceVersion: '12',
        state: 'online',
        lastOnline: 1_700_000_000_000,
        attributes: { vendor: 'acme' },
        twins: [
          { name: 'setpoint', desired: { value: 21 }, reported: { value: 20 }, version: 2, property: { type: 'int', minimum: 5, maximum: 30 } },
          { name: 'temperature', reported: { value: 19.5 }, version: 1, property: { type: 'double', accessMode: 'ReadOnly' } },
        ],
      });
      expect(store.membershipVersion()).toBe(40n);
      // the tombstone still refuses a late resend of the removed device, and reports continue the twin's version
      expect(store.applyDevice(parseDeviceSpec(device({ name: 'gone', rv: '9' }), 'content')).reason).toBe('stale');
      expect(store.report('default/thermo-1', [{ name: 'temperature', value: 20.25, version: 1 }]).device.twins[1]).toMatchObject({ reported: { value: 20.25 }, version: 2 });
      store.close();

      const check = new Database(file, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(1);
      check.close();
      expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    });
  }

  it('too new - a database written by a newer edgecore is refused naming the file and both versions', () => {
    const file = join(tempDir(cleanup), 'devicetwin.db');
    writeShippedDatabase(file, true);
    const raw = new Database(file);
    raw.pragma('user_version = 3');
    raw.close();
    let error: unknown;
    try {
      openStore(cleanup, file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({ file, foundVersion: 3, supportedVersion: 1, purpose: 'device twin store' });
  });
});
