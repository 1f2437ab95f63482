// TwinStore on a real SQLite file: version rules for devices and membership lists, tombstones,
// all-or-nothing reported writes, model changes that drop values the model no longer allows, and
// durability across reopening.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceTwinError, parseDeviceSpec, TwinStore } from '../src/index';
import { Cleanup, device, openStore, tempDir, THERMOSTAT } from './fixtures';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const spec = (options: Parameters<typeof device>[0]) => parseDeviceSpec(device(options), 'content');
const ID = 'default/d1';

describe('TwinStore devices', () => {
  it('versions - newer resourceVersions apply, equal ones are duplicates, older ones stale; desired is typed', () => {
    const store = openStore(cleanup);
    expect(store.applyDevice(spec({ name: 'd1', rv: '5', desired: { setpoint: '20' } })).reason).toBe('created');
    expect(store.applyDevice(spec({ name: 'd1', rv: '5', desired: { setpoint: '25' } })).reason).toBe('duplicate');
    expect(store.applyDevice(spec({ name: 'd1', rv: '4', desired: { setpoint: '25' } })).reason).toBe('stale');
    const updated = store.applyDevice(spec({ name: 'd1', rv: '9007199254740993', desired: { setpoint: 22 } }));
    expect(updated.reason).toBe('updated');
    expect(updated.twinChanges.map((change) => change.name)).toEqual(['setpoint']);
    const setpoint = store.device(ID)?.twins.find((twin) => twin.name === 'setpoint');
    expect(setpoint).toMatchObject({ desired: { value: 22 }, version: 2, property: { type: 'int', minimum: 5, maximum: 30, accessMode: 'ReadWrite', unit: 'C' } });
    expect(store.device(ID)?.resourceVersion).toBe('9007199254740993');
  });

  it('tombstones - a removed device is not brought back by a late resend of an older version', () => {
    const store = openStore(cleanup);
    store.applyDevice(spec({ name: 'd1', rv: '5' }));
    expect(store.removeDevice('default', 'd1', 4n).reason).toBe('stale');
    expect(store.removeDevice('default', 'd1').reason).toBe('deleted');
    expect(store.applyDevice(spec({ name: 'd1', rv: '5' })).reason).toBe('stale');
    expect(store.device(ID)).toBeUndefined();
    expect(store.applyDevice(spec({ name: 'd1', rv: '6' })).reason).toBe('created');
    expect(store.removeDevice('default', 'ghost', 3n).reason).toBe('not-found');
  });

  it('membership - the full list adds, updates and removes, but never removes a device newer than the list, and older lists are ignored', () => {
    const store = openStore(cleanup);
    store.applyMembership(10n, [spec({ name: 'a', rv: '3' }), spec({ name: 'b', rv: '4' })]);
    store.applyDevice(spec({ name: 'c', rv: '12' }));
    const result = store.applyMembership(11n, [spec({ name: 'a', rv: '3' }), spec({ name: 'd', rv: '11' })]);
    expect(result.applied).toBe(true);
    expect(result.changes.map((change) => [change.id, change.reason]).sort()).toEqual([
      ['default/b', 'deleted'],
      ['default/d', 'created'],
    ]);
    expect(store.devices().map((d) => d.id)).toEqual(['default/a', 'default/c', 'default/d']);
    expect(store.applyMembership(9n, []).applied).toBe(false);
    expect(store.deviceCount()).toBe(3);
    expect(store.membershipVersion()).toBe(11n);
  });

  it('model change - reported values the new model forbids are dropped, others kept (edge wins for reported)', () => {
    const store = openStore(cleanup);
    store.applyDevice(spec({ name: 'd1', rv: '1' }));
    store.report(ID, [{ name: 'setpoint', value: 25 }, { name: 'temperature', value: 20.5 }, { name: 'label', value: 'x' }]);
    const narrower = THERMOSTAT.map((p) => (p.name === 'setpoint' ? { ...p, maximum: 22 } : p)).filter((p) => p.name !== 'label');
    const change = store.applyDevice(spec({ name: 'd1', rv: '2', properties: narrower }));
    expect(change.twinChanges.map((c) => [c.name, c.after?.reported?.value ?? null]).sort()).toEqual([
      ['label', null],
      ['setpoint', null],
    ]);
    const twins = store.device(ID)?.twins ?? [];
    expect(twins.map((t) => t.name)).toEqual(['power', 'setpoint', 'temperature']);
    expect(twins.find((t) => t.name === 'temperature')?.reported?.value).toBe(20.5);
  });
});

describe('TwinStore reported values', () => {
  it('report - all or nothing: an unknown property or a version conflict writes nothing', () => {
    const store = openStore(cleanup);
    store.applyDevice(spec({ name: 'd1', rv: '1' }));
    expect(() => store.report(ID, [{ name: 'label', value: 'a' }, { name: 'nope', value: 1 }])).toThrow(expect.objectContaining({ code: 'UNKNOWN_PROPERTY' }));
    expect(() => store.report(ID, [{ name: 'label', value: 'a' }, { name: 'setpoint', value: 20, version: 7 }])).toThrow(expect.objectContaining({ code: 'VERSION_CONFLICT', field: 'twin.setpoint.version' }));
    expect(() => store.report('default/ghost', [{ name: 'label', value: 'a' }])).toThrow(DeviceTwinError);
    expect(store.device(ID)?.twins.every((t) => t.reported === undefined && t.version === 0)).toBe(true);
    const { changes } = store.report(ID, [{ name: 'label', value: 'a', version: 0 }]);
    expect(changes[0]?.after).toMatchObject({ reported: { value: 'a' }, version: 1 });
  });

  it('durability - devices, twins and state survive closing and reopening; the file is in WAL mode', () => {
    const file = join(tempDir(cleanup), 'twin.db');
    const first = new TwinStore({ file });
    first.applyDevice(spec({ name: 'd1', rv: '1', desired: { power: 'false' } }));
    first.report(ID, [{ name: 'temperature', value: -3.25 }]);
    first.setState(ID, 'online', 1_700_000_000_000);
    first.close();
    expect(() => first.device(ID)).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
    const second = openStore(cleanup, file);
    const stored = second.device(ID);
    expect(stored).toMatchObject({ state: 'online', lastOnline: 1_700_000_000_000, attributes: { vendor: 'acme' } });
    expect(stored?.twins.find((t) => t.name === 'power')?.desired?.value).toBe(false);
    expect(stored?.twins.find((t) => t.name === 'temperature')?.reported?.value).toBe(-3.25);
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      raw.close();
    }
  });

  it('batch - updates of one turn share a transaction; a write SQLite refuses rolls the whole batch back, fails its whenDurable and leaves the cache right', async () => {
    const file = join(tempDir(cleanup), 'twin.db');
    const store = new TwinStore({ file });
    cleanup.add(() => store.close());
    store.applyDevice(spec({ name: 'd1', rv: '1' }));
    store.applyDevice(spec({ name: 'd2', rv: '1' }));
    await store.whenDurable();
    // a real SQLite failure in the middle of a batch: a trigger that aborts one value
    const other = new Database(file);
    other.exec(`CREATE TRIGGER refuse_666 BEFORE UPDATE ON device_twins WHEN NEW.actual = '666' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
    other.close();
    // a batch that commits: both updates, one fsync
    store.report(ID, [{ name: 'temperature', value: 1.5 }]);
    store.report('default/d2', [{ name: 'temperature', value: 2.5 }]);
    await store.whenDurable();
    // a batch where the second update fails: the first one, written in the same transaction, goes too
    store.report(ID, [{ name: 'temperature', value: 7 }]);
    const batch = store.whenDurable();
    expect(() => store.report('default/d2', [{ name: 'temperature', value: 666 }])).toThrow(/refused by the test/);
    await expect(batch).rejects.toThrow(/refused by the test/);
    const reported = (id: string, from: TwinStore) => from.device(id)?.twins.find((twin) => twin.name === 'temperature')?.reported?.value;
    expect(reported(ID, store)).toBe(1.5);
    expect(reported('default/d2', store)).toBe(2.5);
    // the store goes on: the next update commits and is on disk
    store.report(ID, [{ name: 'temperature', value: 3.5 }]);
    await store.whenDurable();
    const reader = new Database(file, { readonly: true });
    try {
      const rows = reader.prepare(`SELECT device_id, actual FROM device_twins WHERE name = 'temperature' ORDER BY device_id`).all();
      expect(rows).toEqual([
        { device_id: 'default/d1', actual: '3.5' },
        { device_id: 'default/d2', actual: '2.5' },
      ]);
    } finally {
      reader.close();
    }
  });
});
