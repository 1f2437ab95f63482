// Shared setup for the storage tests: stores on real SQLite files in a fresh temp dir, closed after each test.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { openSqliteStorage } from '../../src/storage/index';
import type { SqliteObjectStorage, SqliteStorageOptions, StorageEvent } from '../../src/storage/index';

export interface StoreFixture {
  dir: string;
  file: string;
  /** opens a store on `file` (or another file in the dir); auto compaction off unless asked for */
  open(options?: Partial<SqliteStorageOptions>): SqliteObjectStorage;
  cleanup(): Promise<void>;
}

export async function storeFixture(): Promise<StoreFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'kedge-storage-'));
  const opened: SqliteObjectStorage[] = [];
  return {
    dir,
    file: join(dir, 'state.db'),
    open(options = {}) {
      const store = openSqliteStorage({ file: join(dir, 'state.db'), compactIntervalMs: 0, ...options });
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Waits until every write made so far on `stores` is on disk and told to their watchers, including
 * writes those watchers made in turn (group commit tells watchers after the fsync, not inside the write).
 */
export async function settled(...stores: SqliteObjectStorage[]): Promise<void> {
  for (;;) {
    const before = stores.map((store) => store.currentRevision()).join();
    for (const store of stores) await store.whenDurable();
    if (stores.map((store) => store.currentRevision()).join() === before) return;
  }
}

/** resolves after the current event-loop turn, once the store has committed the turn's writes */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** the error a call throws, for asserting on its fields */
export function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

export function summary(events: readonly StorageEvent[]): string[] {
  return events.map((event) => `${event.type} ${event.key}@${event.revision}`);
}

/** applies events to a key → value map, the way a watch-based cache would */
export function applyEvents(state: Map<string, string>, events: readonly StorageEvent[]): Map<string, string> {
  for (const event of events) {
    if (event.type === 'DELETED') state.delete(event.key);
    else state.set(event.key, event.value);
  }
  return state;
}

export type FixtureChild = ChildProcess & { stdout: Readable };
const running = new Set<FixtureChild>();

/** runs a fixture under node with the tsx loader (not the tsx CLI, which forks: SIGKILL would miss the worker) */
export function spawnFixture(name: string, args: readonly string[]): FixtureChild {
  const fixture = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const workspace = fileURLToPath(new URL('../../../../../', import.meta.url));
  // the IPC channel lets the child notice when this process dies and exit instead of writing on
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    cwd: workspace,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const { stdout } = child;
  if (stdout === null) throw new Error('spawned fixture has no stdout pipe');
  const piped = Object.assign(child, { stdout });
  running.add(piped);
  child.once('exit', () => running.delete(piped));
  return piped;
}

/** SIGKILLs (by pid) every fixture child still running; call from afterEach */
export async function killFixtures(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

/** resolves with the exit code once the child exits */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}
