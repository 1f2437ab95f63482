// Paths a pod names, checked and opened so they cannot leave the directory they are relative to. edged runs
// as root and containers write into their volumes, so any path edged joins to a volume may meet a symlink a
// container planted (the CVE-2017-1002101 class). The defence is the kubelet's: resolve, check the result is
// inside the root, then open component by component without following symlinks (O_PATH|O_NOFOLLOW through
// /proc/self/fd, the openat of Node), and bind-mount the opened file descriptor itself to a path only edged
// controls. The runtime then mounts that path: swapping a component for a symlink after the check changes
// nothing, because the fd already points at the checked directory.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

// not in fs.constants: Linux's O_PATH (the same value on x86-64, arm64 and arm)
const O_PATH = 0o10000000;
// libuv adds O_CLOEXEC itself
const OPEN_NO_FOLLOW = O_PATH | constants.O_NOFOLLOW;

/**
 * What is wrong with a path that must stay below a directory (upstream validateLocalDescendingPath): not
 * absolute, no ".." element. Undefined when it is fine.
 */
export function localDescendingPathProblem(path: string): string | undefined {
  if (path === '') return 'must not be empty';
  if (isAbsolute(path)) return 'must be a relative path';
  if (path.split('/').includes('..')) return "must not contain '..'";
  if (path.includes('\0')) return 'must not contain a NUL byte';
  return undefined;
}

/** Whether `path` is `root` or below it (both absolute and normalised). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

const fdPath = (fd: number, name?: string): string => (name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`);

/** Follows symlinks as far as the path exists; the rest (to be created) is appended unresolved. */
function resolveExisting(path: string): string {
  const missing: string[] = [];
  let existing = path;
  for (;;) {
    try {
      return join(realpathSync(existing), ...missing.reverse());
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || existing === dirname(existing)) throw error;
      missing.push(existing.slice(dirname(existing).length + 1));
      existing = dirname(existing);
    }
  }
}

export interface OpenedPath {
  fd: number;
  stats: Stats;
}

/**
 * Opens `rel` below `root` without leaving it: symlinks inside the root are resolved first (they may point
 * elsewhere inside it, as upstream allows), the result must be inside the root, and then every component is
 * opened with O_NOFOLLOW from the one before, so a symlink swapped in meanwhile fails the open. Missing
 * directories are created (mode 0755 below an emptyDir, as the kubelet does) when `create` is set. The
 * caller closes the fd.
 */
export function openBeneath(root: string, rel: string, options: { create: boolean; what: string }): OpenedPath {
  const problem = localDescendingPathProblem(rel);
  if (problem) throw new UnsafePathError(`${options.what} "${rel}" ${problem}`);
  const realRoot = realpathSync(root);
  const resolved = resolveExisting(join(realRoot, rel));
  if (!isWithin(realRoot, resolved)) throw new UnsafePathError(`${options.what} "${rel}" resolves outside the volume (a symlink points out of it)`);
  const components = relative(realRoot, resolved).split(sep).filter((c) => c !== '');
  let fd = openSync(realRoot, OPEN_NO_FOLLOW | constants.O_DIRECTORY);
  try {
    for (const [index, name] of components.entries()) {
      let next: number;
      try {
        next = openSync(fdPath(fd, name), OPEN_NO_FOLLOW);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !options.create) throw error;
        // mkdir does not follow a symlink in its last component: a link planted now makes it fail
        mkdirSync(fdPath(fd, name), { mode: 0o755 });
        next = openSync(fdPath(fd, name), OPEN_NO_FOLLOW);
      }
      closeSync(fd);
      fd = next;
      const stats = fstatSync(fd);
      if (stats.isSymbolicLink()) throw new UnsafePathError(`${options.what} "${rel}" changed while it was opened: "${components.slice(0, index + 1).join('/')}" is now a symlink`);
      if (index < components.length - 1 && !stats.isDirectory()) throw new UnsafePathError(`${options.what} "${rel}": "${components.slice(0, index + 1).join('/')}" is not a directory`);
    }
    const stats = fstatSync(fd);
    if (!stats.isDirectory() && !stats.isFile() && !stats.isSocket()) throw new UnsafePathError(`${options.what} "${rel}" is neither a directory, a file nor a socket`);
    return { fd, stats };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Mount points at or below `dir`, from /proc/self/mountinfo (deepest last). */
export function mountsUnder(dir: string): string[] {
  const unescape = (path: string): string => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => mountPoint !== undefined)
    .map(unescape)
    .filter((mountPoint) => isWithin(dir, mountPoint));
}

/**
 * Bind-mounts what `opened` refers to onto `target` (created empty, as a file or a directory to match), so
 * the runtime mounts exactly the checked file. `--no-canonicalize` keeps mount(8) from resolving the
 * /proc/self/fd link back into a path, which would reopen the race.
 */
export function bindMountOpened(opened: OpenedPath, target: string): void {
  unmountAll(target);
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  // nothing is mounted there any more: what is left is the empty file or dir of an earlier mount
  rmSync(target, { force: true, recursive: true });
  if (opened.stats.isDirectory()) mkdirSync(target, { mode: 0o700 });
  else writeFileSync(target, '', { mode: 0o600 });
  execFileSync('mount', ['--no-canonicalize', '--bind', `/proc/${process.pid}/fd/${opened.fd}`, target], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Unmounts everything at or below `dir`, deepest first; throws if something stays mounted. */
export function unmountAll(dir: string): void {
  const mounts = [...new Set(mountsUnder(dir))].sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) {
    try {
      execFileSync('umount', [mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      // busy (a process has a file open there): detach it now, the kernel frees it when released
      execFileSync('umount', ['-l', mountPoint], { stdio: ['ignore', 'ignore', 'pipe'] });
    }
  }
  const left = mountsUnder(dir);
  if (left.length > 0) throw new Error(`could not unmount ${left.join(', ')}`);
}
