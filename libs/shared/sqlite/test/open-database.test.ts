// openSqliteDatabase and migrate on real SQLite files: modes, pragmas, versioned upgrades, refusals.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { ForeignDatabaseError, InvalidMigrationsError, MigrationFailedError, openSqliteDatabase, SchemaTooNewError, type Migration, type SchemaVersionRecord } from '../src/index';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-sqlite-'));
  dirs.push(dir);
  return dir;
}

const NOTES_V1: Migration = { version: 1, description: 'notes table', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)') };
const NOTES_V2: Migration = {
  version: 2,
  description: 'notes get an author',
  up: (db) => db.exec(`ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'`),
};
const open = (file: string, migrations: Migration[], extra: Partial<Parameters<typeof openSqliteDatabase>[1]> = {}) =>
  openSqliteDatabase(file, { purpose: 'note store', migrations, ...extra });
const mode = (path: string): number => statSync(path).mode & 0o777;

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('openSqliteDatabase', () => {
  it('files - a new database, its -wal and -shm are 0600 and a missing parent directory is created 0700', () => {
    const file = join(tempDir(), 'state', 'nested', 'notes.db');
    const { db, previousVersion, version } = open(file, [NOTES_V1]);
    db.prepare('INSERT INTO notes (text) VALUES (?)').run('hello');
    expect([previousVersion, version]).toEqual([0, 1]);
    for (const path of [file, `${file}-wal`, `${file}-shm`]) expect(mode(path).toString(8)).toBe('600');
    expect(mode(join(file, '..')).toString(8)).toBe('700');
    expect(mode(join(file, '..', '..')).toString(8)).toBe('700');
    db.close();
  });

  it('files - an existing world-readable database written by an older build is made 0600', () => {
    const file = join(tempDir(), 'notes.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    NOTES_V1.up(old);
    old.pragma('user_version = 1');
    old.close();
    statSync(file);
    expect(mode(file) & 0o044).not.toBe(0);
    const { db } = open(file, [NOTES_V1]);
    expect(mode(file).toString(8)).toBe('600');
    db.close();
  });

  it('pragmas - WAL, synchronous FULL and foreign keys by default, the busy timeout, and the WAL size limit on request', () => {
    const dir = tempDir();
    const { db } = open(join(dir, 'a.db'), [NOTES_V1], { busyTimeoutMs: 1234 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
    const other = open(join(dir, 'b.db'), [NOTES_V1], { synchronous: 'NORMAL', foreignKeys: false, walSizeLimitBytes: 4096 }).db;
    expect(other.pragma('synchronous', { simple: true })).toBe(1);
    expect(other.pragma('foreign_keys', { simple: true })).toBe(0);
    expect(other.pragma('journal_size_limit', { simple: true })).toBe(4096);
    other.close();
  });
});

describe('migrate', () => {
  it('upgrade - a version-1 file with rows is migrated to version 2 and keeps them; reopening runs nothing', () => {
    const file = join(tempDir(), 'notes.db');
    const first = open(file, [NOTES_V1]).db;
    first.prepare('INSERT INTO notes (text) VALUES (?)').run('kept');
    first.close();
    const upgraded = open(file, [NOTES_V1, NOTES_V2]);
    expect([upgraded.previousVersion, upgraded.version]).toEqual([1, 2]);
    expect(upgraded.db.prepare('SELECT text, author FROM notes').all()).toEqual([{ text: 'kept', author: 'unknown' }]);
    expect(upgraded.db.pragma('user_version', { simple: true })).toBe(2);
    upgraded.db.close();
    const again = open(file, [NOTES_V1, NOTES_V2]);
    expect(again.previousVersion).toBe(2);
    again.db.close();
  });

  it('too new - a file written by a newer schema is refused naming the file, both versions and what to do, and is not changed', () => {
    const file = join(tempDir(), 'notes.db');
    open(file, [NOTES_V1, NOTES_V2]).db.close();
    const error = thrown(() => open(file, [NOTES_V1]));
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(error).toMatchObject({ code: 'SCHEMA_TOO_NEW', file, foundVersion: 2, supportedVersion: 1, purpose: 'note store' });
    expect((error as Error).message).toMatch(/notes\.db: the note store has schema version 2, newer than this build supports \(1\); run the newer release/);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();
  });

  it('failure - a migration that throws leaves the file at the previous version with its rows, and says which step failed', () => {
    const file = join(tempDir(), 'notes.db');
    const first = open(file, [NOTES_V1]).db;
    first.prepare('INSERT INTO notes (text) VALUES (?)').run('safe');
    first.close();
    const broken: Migration = {
      version: 2,
      description: 'half a change',
      up: (db) => {
        db.exec('CREATE TABLE half (x)');
        db.exec('THIS IS NOT SQL');
      },
    };
    const error = thrown(() => open(file, [NOTES_V1, broken]));
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', file, version: 2, description: 'half a change' });
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(1);
    expect(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all()).toEqual(['notes']);
    expect(check.prepare('SELECT text FROM notes').pluck().all()).toEqual(['safe']);
    check.close();
  });

  it('unversioned - a file with the expected tables and no recorded version is adopted at the given version, not created again', () => {
    const file = join(tempDir(), 'notes.db');
    const legacy = new Database(file);
    NOTES_V1.up(legacy);
    legacy.prepare('INSERT INTO notes (text) VALUES (?)').run('from before versions');
    legacy.close();
    const { db, previousVersion } = open(file, [NOTES_V1, NOTES_V2], { unversioned: { version: 1, tables: ['notes'] } });
    expect(previousVersion).toBe(1);
    expect(db.prepare('SELECT text, author FROM notes').all()).toEqual([{ text: 'from before versions', author: 'unknown' }]);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    db.close();
  });

  it('foreign - a database of another program is refused with its tables named, and not written to', () => {
    const file = join(tempDir(), 'other.db');
    const other = new Database(file);
    other.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
    other.close();
    const error = thrown(() => open(file, [NOTES_V1], { unversioned: { version: 1, tables: ['notes'] } }));
    expect(error).toBeInstanceOf(ForeignDatabaseError);
    expect(error).toMatchObject({ code: 'FOREIGN_DATABASE', file, tables: ['users'] });
    const check = new Database(file, { readonly: true });
    expect(check.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()).toEqual(['users']);
    expect(check.pragma('user_version', { simple: true })).toBe(0);
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('not a database - a text file is reported by SQLite as SQLITE_NOTADB and the connection closed', () => {
    const file = join(tempDir(), 'text.db');
    writeFileSync(file, 'just text, long enough to have a header '.repeat(20));
    expect(thrown(() => open(file, [NOTES_V1]))).toMatchObject({ code: 'SQLITE_NOTADB' });
  });

  it('version record - a store may keep its version in its own table', () => {
    const file = join(tempDir(), 'meta.db');
    const record: SchemaVersionRecord = {
      read: (db) => {
        const hasMeta = db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'meta'`).get() !== undefined;
        return hasMeta ? (db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as number) : 0;
      },
      write: (db, version) => void db.prepare(`INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(version),
    };
    const withMeta: Migration = { version: 1, description: 'meta', up: (db) => db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)') };
    open(file, [withMeta], { versionRecord: record }).db.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT key, value FROM meta').all()).toEqual([{ key: 'schema', value: 1 }]);
    expect(check.pragma('user_version', { simple: true })).toBe(0);
    check.close();
    expect(thrown(() => open(file, [], { versionRecord: record }))).toMatchObject({ foundVersion: 1, supportedVersion: 0 });
  });

  it('invalid - a migration list out of order is a programming error naming the entry, and touches no file', () => {
    const file = join(tempDir(), 'bad.db');
    const error = thrown(() => open(file, [NOTES_V2]));
    expect(error).toBeInstanceOf(InvalidMigrationsError);
    expect(error).toMatchObject({ code: 'INVALID_MIGRATIONS', index: 0 });
    expect(existsSync(file)).toBe(false);
  });
});
