// Where certificates, keys and the token ledger live. The interface is small on purpose so that a
// Kubernetes Secret (libs/cloud/pki-secret, whose updates are also all-or-nothing) can replace the files.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { CertificateStoreError } from './errors';

export interface StoreEntry {
  /** a plain file name such as `ca.crt`; no directories */
  name: string;
  content: string;
  /** private keys: readable by the owner only */
  secret?: boolean;
}

export interface CertificateStore {
  /** where the entries live, for messages ("/etc/kedge/pki", "secret kedge/kedge-ca") */
  readonly location: string;
  /** the entry's content, or undefined when it does not exist */
  read(name: string): Promise<string | undefined>;
  /** replaces all `entries` together: after a crash, readers see all old or all new contents, never a mix */
  write(entries: readonly StoreEntry[]): Promise<void>;
  /**
   * Compare-and-swap, for stores that several processes share (a Kubernetes Secret behind two
   * cloudcores). `change` sees the current contents of `names` and returns the entries to write, or
   * undefined to write nothing. If another writer changed the store between that read and this
   * write, the store reads again and calls `change` again, so a decision is only ever stored on top
   * of the contents it was made from. What `change` throws is thrown from here, and nothing is written.
   * A store used by one process only may leave it out; callers then serialize in-process.
   */
  update?(names: readonly string[], change: StoreChange): Promise<void>;
}

export type StoreChange = (
  current: ReadonlyMap<string, string | undefined>,
) => readonly StoreEntry[] | undefined | Promise<readonly StoreEntry[] | undefined>;

const JOURNAL = '.commit-journal.json';
/** held during update(): kedgeadm (creating a token) and cloudcore (recording its use) share the directory */
const UPDATE_LOCK = '.update.lock';
const LOCK_WAIT_MS = 10_000;
/** a lock file still empty after this long was left by a process that died between creating and writing it */
const EMPTY_LOCK_STALE_MS = 5_000;
const ENTRY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A directory of files. Each write goes to a temporary file that is fsynced and then renamed over
 * the target, so a kill -9 leaves the old or the new file, never half a key. A group of files is
 * committed through a journal that is replayed on the next start.
 */
export class FileCertificateStore implements CertificateStore {
  readonly location: string;
  #queue: Promise<unknown>;

  constructor(dir: string) {
    this.location = resolve(dir);
    this.#queue = this.#recover();
    // a failed recovery surfaces on the first read or write, not as an unhandled rejection
    this.#queue.catch(() => undefined);
  }

  async read(name: string): Promise<string | undefined> {
    assertEntryName(name);
    return this.#serialized(async () => {
      try {
        return await readFile(join(this.location, name), 'utf8');
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    });
  }

  async write(entries: readonly StoreEntry[]): Promise<void> {
    for (const entry of entries) assertEntryName(entry.name);
    if (new Set(entries.map((entry) => entry.name)).size !== entries.length) {
      throw new RangeError('a store write names the same entry twice');
    }
    return this.#serialized(() => this.#commit(entries));
  }

  /**
   * Compare-and-swap across processes on one machine: the read, the decision and the write happen
   * under a lock file (`.update.lock`, created exclusively, holding the owner's pid), so a claim by
   * cloudcore and a token created by kedgeadm can never overwrite each other. A lock whose owner
   * process is gone is broken; one held longer than 10 s fails with WRITE_CONFLICT naming its pid.
   */
  async update(names: readonly string[], change: StoreChange): Promise<void> {
    for (const name of names) assertEntryName(name);
    return this.#serialized(async () => {
      await mkdir(this.location, { recursive: true, mode: 0o700 });
      const release = await this.#lock();
      try {
        const current = new Map<string, string | undefined>();
        for (const name of names) current.set(name, await readOrUndefined(join(this.location, name)));
        const entries = await change(current);
        if (entries !== undefined && entries.length > 0) {
          for (const entry of entries) assertEntryName(entry.name);
          await this.#commit(entries);
        }
      } finally {
        await release();
      }
    });
  }

  async #lock(): Promise<() => Promise<void>> {
    const path = join(this.location, UPDATE_LOCK);
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(path, 'wx', 0o600);
        try {
          await handle.writeFile(`${process.pid}\n`, 'utf8');
        } finally {
          await handle.close();
        }
        return () => unlink(path).catch(() => undefined);
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
      }
      const holder = await lockHolder(path);
      if (holder === 'stale') {
        // its owner died mid-update: nothing was half-written (commits are atomic), so the lock can go
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new CertificateStoreError(
          'WRITE_CONFLICT',
          `${path} has been held by process ${holder} for more than ${LOCK_WAIT_MS / 1000} s; if no cloudcore or kedgeadm ` +
            'is working on this directory, remove the file and retry',
        );
      }
      await sleep(5 + Math.random() * 20);
    }
  }

  // Reads and writes queue behind each other so that a read never sees a group half-renamed.
  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #commit(entries: readonly StoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await mkdir(this.location, { recursive: true, mode: 0o700 });
    const staged: { temp: string; name: string }[] = [];
    try {
      for (const entry of entries) {
        const temp = temporaryName(entry.name);
        staged.push({ temp, name: entry.name });
        await writeDurably(join(this.location, temp), entry.content, entry.secret === true ? 0o600 : 0o644);
      }
      if (staged.length > 1) {
        const journalTemp = temporaryName(JOURNAL);
        await writeDurably(join(this.location, journalTemp), JSON.stringify(staged), 0o600);
        await rename(join(this.location, journalTemp), join(this.location, JOURNAL));
        await syncDirectory(this.location);
      }
    } catch (error) {
      await Promise.all(staged.map(({ temp }) => unlink(join(this.location, temp)).catch(() => undefined)));
      throw error;
    }
    await this.#applyRenames(staged);
  }

  async #applyRenames(staged: readonly { temp: string; name: string }[]): Promise<void> {
    for (const { temp, name } of staged) {
      try {
        await rename(join(this.location, temp), join(this.location, name));
      } catch (error) {
        // replaying a journal whose renames partly happened before the crash
        if (!isNotFound(error)) throw error;
      }
    }
    await syncDirectory(this.location);
    if (staged.length > 1) {
      await unlink(join(this.location, JOURNAL)).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
      await syncDirectory(this.location);
    }
  }

  // Finishes a group commit interrupted after its journal was written, and drops temporary files
  // of writes that never reached that point.
  async #recover(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.location);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (names.includes(JOURNAL)) {
      const text = await readFile(join(this.location, JOURNAL), 'utf8');
      let staged: { temp: string; name: string }[];
      try {
        staged = parseJournal(text);
      } catch (cause) {
        throw new CertificateStoreError(
          'CORRUPT_FILE',
          `${join(this.location, JOURNAL)} cannot be read; inspect the directory and remove the journal once the files are consistent`,
          { cause },
        );
      }
      await this.#applyRenames(staged);
    }
    const leftovers = (await readdir(this.location)).filter((name) => name.startsWith('.') && name.endsWith('.tmp'));
    await Promise.all(leftovers.map((name) => unlink(join(this.location, name)).catch(() => undefined)));
  }
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** the pid holding the update lock; 'stale' when that process is gone; 'unknown' while it is being written or just released */
async function lockHolder(path: string): Promise<number | 'stale' | 'unknown'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isNotFound(error)) return 'unknown'; // released meanwhile: try again
    throw error;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    return age > EMPTY_LOCK_STALE_MS ? 'stale' : 'unknown';
  }
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as { code?: unknown }).code === 'ESRCH' ? 'stale' : pid;
  }
}

function parseJournal(text: string): { temp: string; name: string }[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw new TypeError('journal is not a list');
  return value.map((item: unknown) => {
    const { temp, name } = (item ?? {}) as Record<string, unknown>;
    if (typeof temp !== 'string' || typeof name !== 'string' || !isTemporaryName(temp)) {
      throw new TypeError('journal entry is not {temp, name}');
    }
    assertEntryName(name);
    return { temp, name };
  });
}

async function writeDurably(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode); // the umask must not widen or narrow what we asked for
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function temporaryName(name: string): string {
  return `.${name}.${randomBytes(6).toString('hex')}.tmp`;
}

function isTemporaryName(name: string): boolean {
  return /^\.[A-Za-z0-9._-]+\.[0-9a-f]{12}\.tmp$/.test(name);
}

function assertEntryName(name: string): void {
  if (typeof name !== 'string' || !ENTRY_NAME.test(name) || name.endsWith('.tmp')) {
    throw new CertificateStoreError(
      'INVALID_NAME',
      `store entry name ${JSON.stringify(name)} is not a plain file name; use names like "ca.crt" or "node.key"`,
    );
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}
