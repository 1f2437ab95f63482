// The on-disk schema and its migrations. Like kine, one append-only `log` table holds every version of
// every object; its row id is the global revision. `meta` holds the schema version and the compacted
// revision. @kedge/sqlite runs each migration in one write transaction at open; the version stays in
// `meta` (not user_version) because that is where stores written by earlier cloudcores keep it.
import type { Migration, SchemaVersionRecord } from '@kedge/sqlite';
import { CorruptStorageError } from './errors';

export const META_SCHEMA_VERSION = 'schema_version';
export const META_COMPACTED_REVISION = 'compacted_revision';

/** Append new migrations, never edit shipped ones. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'log and meta tables',
    up: (db) =>
      db.exec(`
      CREATE TABLE log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, -- the revision; AUTOINCREMENT so ids are never reused after compaction
        name TEXT NOT NULL,
        created INTEGER NOT NULL,             -- 1 on the row that creates the key
        deleted INTEGER NOT NULL,             -- 1 on a tombstone
        create_revision INTEGER NOT NULL,
        prev_revision INTEGER NOT NULL,       -- id of the key's previous row, 0 for a first create
        value TEXT NOT NULL,                  -- object JSON; on a tombstone the last value before deletion
        old_value TEXT                        -- the previous row's value, so replay needs no second lookup
      );
      -- two writers that both read revision N of a key cannot both append after it
      CREATE UNIQUE INDEX log_name_prev_revision ON log (name, prev_revision);
      CREATE INDEX log_name_id ON log (name, id);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta (key, value) VALUES ('${META_COMPACTED_REVISION}', 0);
    `),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version in `meta`; 0 while there is no `meta` table (a new file). */
export function metaVersionRecord(file: string): SchemaVersionRecord {
  return {
    read(db) {
      if (db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).get() === undefined) return 0;
      const version = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META_SCHEMA_VERSION);
      if (typeof version !== 'number') throw new CorruptStorageError(file, 'has a meta table without a schema version');
      return version;
    },
    write(db, version) {
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(META_SCHEMA_VERSION, version);
    },
  };
}
