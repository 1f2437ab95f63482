// The on-disk schema and its migrations. Like kine, one append-only `log` table holds every version of
// every object; its row id is the global revision. `meta` holds the schema version and the compacted
// revision. A migration is a function from version N-1 to N, run in one write transaction at open.
import type BetterSqlite3 from 'better-sqlite3';
import { CorruptStorageError, UnsupportedSchemaError } from './errors';

type Db = BetterSqlite3.Database;

export const META_SCHEMA_VERSION = 'schema_version';
export const META_COMPACTED_REVISION = 'compacted_revision';

/** MIGRATIONS[i] upgrades a store from version i to version i + 1; append new ones, never edit old ones. */
const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
  (db) =>
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database at `file` to SCHEMA_VERSION; refuses databases that are not kedge stores or are too new. */
export function migrate(db: Db, file: string): void {
  db.transaction(() => {
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
    let version = 0;
    if (tables.includes('meta')) {
      const row = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META_SCHEMA_VERSION);
      if (typeof row !== 'number') throw new CorruptStorageError(file, 'has a meta table without a schema version');
      version = row;
    } else {
      const foreign = tables.filter((name) => !name.startsWith('sqlite_'));
      if (foreign.length > 0) {
        throw new CorruptStorageError(file, `is a SQLite database but not a kedge store (tables: ${foreign.join(', ')})`);
      }
    }
    if (version > SCHEMA_VERSION) throw new UnsupportedSchemaError(file, version, SCHEMA_VERSION);
    for (let next = version; next < SCHEMA_VERSION; next += 1) MIGRATIONS[next]?.(db);
    if (version !== SCHEMA_VERSION) {
      db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(
        META_SCHEMA_VERSION,
        SCHEMA_VERSION,
      );
    }
  }).immediate();
}
