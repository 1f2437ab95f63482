// A minimal Debian bookworm root filesystem (debootstrap --variant=minbase, plus curl and ca-certificates)
// with no Node.js in it: a fresh gateway. Built once into a cache dir keyed by suite, package list and ISO
// week (so it picks up Debian's updates weekly), then copied per test file. Programs run in it with
// chroot inside a private mount namespace (unshare --mount) that has its own /proc: the namespace and its
// mounts go away with the process, and the network is the host's, so loopback reaches a test's cloudcore.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './harness';

export const ROOTFS_SUITE = 'bookworm';
export const ROOTFS_MIRROR = 'http://deb.debian.org/debian';
export const ROOTFS_PACKAGES = ['curl', 'ca-certificates'];
const COMPLETE = '.kedge-rootfs-complete';

/** $KEDGE_ROOTFS_CACHE or node_modules/.cache/kedge-rootfs (gitignored). */
export function rootfsCacheDir(): string {
  return resolve(process.env['KEDGE_ROOTFS_CACHE'] ?? join(repoRoot, 'node_modules', '.cache', 'kedge-rootfs'));
}

function isoWeek(date: Date): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const week = Math.ceil(((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}w${String(week).padStart(2, '0')}`;
}

export interface CachedRootfs {
  dir: string;
  /** 'cached' or seconds debootstrap took */
  built: 'cached' | number;
}

/** The cached minbase rootfs, built with debootstrap if this week's is not there yet. */
export function ensureDebianRootfs(log: (line: string) => void = (l) => process.stderr.write(`[debian-rootfs] ${l}\n`)): CachedRootfs {
  const cache = rootfsCacheDir();
  const dir = join(cache, `${ROOTFS_SUITE}-minbase-${ROOTFS_PACKAGES.join('+')}-${isoWeek(new Date())}`);
  if (existsSync(join(dir, COMPLETE))) return { dir, built: 'cached' };
  mkdirSync(cache, { recursive: true });
  const partial = mkdtempSync(`${dir}.partial-`);
  const start = Date.now();
  log(`debootstrap --variant=minbase --include=${ROOTFS_PACKAGES.join(',')} ${ROOTFS_SUITE} (once per week, cached in ${cache}) ...`);
  const run = spawnSync('debootstrap', ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, ROOTFS_SUITE, partial, ROOTFS_MIRROR], {
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (run.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`debootstrap failed (exit ${run.status}): ${(run.stderr || run.stdout).slice(-2000)}; it needs ${ROOTFS_MIRROR}`);
  }
  const seconds = (Date.now() - start) / 1000;
  writeFileSync(join(partial, COMPLETE), `${new Date().toISOString()} ${seconds.toFixed(1)}s\n`);
  if (existsSync(join(dir, COMPLETE))) {
    rmSync(partial, { recursive: true, force: true }); // a concurrent run finished first
  } else {
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  }
  log(`rootfs built in ${seconds.toFixed(1)}s`);
  return { dir, built: seconds };
}

/** A private copy of the cached rootfs for one test file (cp -a, about 2 s for ~230 MB). */
export function copyRootfs(cached: string, into: string): string {
  const target = join(into, 'rootfs');
  const copy = spawnSync('cp', ['-a', cached, target], { encoding: 'utf8' });
  if (copy.status !== 0) throw new Error(`cp -a ${cached} ${target}: ${copy.stderr}`);
  return target;
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Runs `command` (a shell line) as root in `rootfs`: own mount namespace, /proc mounted in it, the host's
 * network. Without --fork the pid is the chrooted program's own, so stopping it by pid stops the program.
 */
export function spawnInRootfs(rootfs: string, command: string, env: Record<string, string> = {}): ChildProcess {
  const inner = `mount -t proc proc ${shellQuote(join(rootfs, 'proc'))} && exec chroot ${shellQuote(rootfs)} /bin/sh -c ${shellQuote(command)}`;
  return spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', inner], {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runInRootfs(rootfs: string, command: string, options: { timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnInRootfs(rootfs, command);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 5 * 60_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}
