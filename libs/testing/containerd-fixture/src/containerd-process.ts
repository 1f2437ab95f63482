// Process and mount housekeeping for private-containerd.ts: is a pid still our containerd, wait for it to
// exit, empty it of pods, and unmount what it left under its directory.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { connectCri } from '@kedge/cri';

const execFileAsync = promisify(execFile);

function procStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** True when pid is gone or a zombie. Orphans are reaped late here (PID 1 is not an init), so a zombie
 *  must count as exited, or a second CLI invocation would wait forever. */
export function processExited(pid: number): boolean {
  const stat = procStat(pid);
  if (stat === undefined) return true;
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}

/** Guards against pid reuse: only a live containerd started with our config file is ours to signal. */
export function isOurContainerd(pid: number, configPath: string): boolean {
  if (processExited(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return basename(argv[0] ?? '') === 'containerd' && argv.includes(configPath);
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!processExited(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** The server version when `ctr version` gets an answer on the socket, else undefined. */
export async function ctrVersion(socketPath: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('ctr', ['-a', socketPath, 'version'], { timeout: 3_000 });
    const server = stdout.slice(stdout.indexOf('Server:'));
    return /Version:\s*(\S+)/.exec(server)?.[1] ?? 'unknown';
  } catch {
    return undefined;
  }
}

/** Stops and removes every pod sandbox (which takes their containers along); best effort, returns the ids. */
export async function removeAllPodSandboxes(socketPath: string): Promise<string[]> {
  const cri = connectCri(socketPath, { timeoutMs: 10_000 });
  const removed: string[] = [];
  try {
    for (const sandbox of await cri.listPodSandbox()) {
      try {
        await cri.stopPodSandbox(sandbox.id);
        await cri.removePodSandbox(sandbox.id);
        removed.push(sandbox.id);
      } catch (error) {
        console.warn(`private containerd: could not remove sandbox ${sandbox.id}: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    console.warn(`private containerd: could not list sandboxes on ${socketPath}: ${(error as Error).message}`);
  } finally {
    cri.close();
  }
  return removed;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
const unescapeMountPath = (path: string): string => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint): mountPoint is string => mountPoint !== undefined)
    .map(unescapeMountPath)
    .filter((mountPoint) => mountPoint.startsWith(prefix));
}

/** Unmounts everything mounted below dir, deepest first; a busy mount is detached lazily. */
export async function unmountUnder(dir: string): Promise<string[]> {
  const mountPoints = [...new Set(mountsUnder(dir))].sort((a, b) => b.length - a.length);
  for (const mountPoint of mountPoints) {
    try {
      await execFileAsync('umount', [mountPoint]);
    } catch {
      await execFileAsync('umount', ['-l', mountPoint]).catch((error: unknown) => {
        console.warn(`private containerd: could not unmount ${mountPoint}: ${(error as Error).message}`);
      });
    }
  }
  return mountPoints;
}
