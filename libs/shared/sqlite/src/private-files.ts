// Private modes for what a daemon keeps on disk: its data directory holds every synced Secret, the
// node's or the cluster's private keys and admin credentials, so nobody but the daemon's user may
// list or read it. New directories are created 0700; directories and files written by older
// versions (or by hand, under a 022 umask) are narrowed at start, and the caller logs each change.
import { chmodSync, mkdirSync, statSync } from 'node:fs';

export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** group and others: any of these bits on a private path is a leak */
const GROUP_AND_OTHERS = 0o077;

export interface PrivatePaths {
  /** created 0700 when missing (with missing parents), else narrowed to owner-only */
  directories?: readonly string[];
  /** narrowed to owner-only when they exist; missing files are left to whoever creates them (0600) */
  files?: readonly string[];
}

/** A path whose mode was narrowed, for the caller's log. */
export interface NarrowedPath {
  path: string;
  kind: 'directory' | 'file';
  /** the permission bits before and after, e.g. 0o755 and 0o700 */
  from: number;
  to: number;
}

/** Told of each narrowed path with log fields and a message, e.g. `(fields, message) => logger.warn(fields, message)`. */
export type NarrowedPathLog = (fields: { path: string; kind: NarrowedPath['kind']; from: string; to: string }, message: string) => void;

/**
 * Makes `paths` private to the owner: creates missing directories 0700 and removes every group and
 * others bit from existing directories and files (owner bits are kept, so 0755 becomes 0700, 0644
 * becomes 0600 and 0400 stays 0400). Symlinks are followed: a data directory may be a link to a disk.
 * @returns what was narrowed; each one is also passed to `log`
 * @throws Error naming the path when it is not a directory (or not a file) or cannot be changed
 */
export function securePrivatePaths(paths: PrivatePaths, log?: NarrowedPathLog): NarrowedPath[] {
  const narrowed: NarrowedPath[] = [];
  for (const dir of paths.directories ?? []) {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
    narrow(dir, 'directory', narrowed);
  }
  for (const file of paths.files ?? []) narrow(file, 'file', narrowed);
  for (const { path, kind, from, to } of narrowed) {
    log?.(
      { path, kind, from: formatMode(from), to: formatMode(to) },
      `narrowed the mode of ${kind} ${path} from ${formatMode(from)} to ${formatMode(to)}: other users could read it (left so by an older version or a 022 umask)`,
    );
  }
  return narrowed;
}

/** "0755" */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

function narrow(path: string, kind: NarrowedPath['kind'], narrowed: NarrowedPath[]): void {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    if (kind === 'file' && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (kind === 'directory' ? !stats.isDirectory() : !stats.isFile()) {
    throw new Error(`${path} should be a ${kind} private to this daemon but is not a ${kind}; move it away and start again`);
  }
  const from = stats.mode & 0o777;
  if ((from & GROUP_AND_OTHERS) === 0) return;
  const to = from & ~GROUP_AND_OTHERS;
  try {
    chmodSync(path, to);
  } catch (cause) {
    throw new Error(
      `${path} is ${formatMode(from)} (readable by other users) and cannot be narrowed to ${formatMode(to)}: ` +
        `${(cause as Error).message}; run \`chmod ${formatMode(to)} ${path}\` as its owner`,
      { cause },
    );
  }
  narrowed.push({ path, kind, from, to });
}
