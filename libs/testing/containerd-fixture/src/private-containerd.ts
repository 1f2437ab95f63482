// A PRIVATE containerd for tests, the demo and developers: config, root, state, socket, runc root, CNI config
// and IPAM state all live under one directory, so several can run side by side and a test can delete its
// directory afterwards. It is started detached, its pid is recorded in <dir>/containerd.pid, and it is only
// ever stopped by that pid (after checking the pid still is our containerd), never by process name.
//
// Facts of this machine baked in here (see /work/shared/reference/infrastructure.md):
//   - no CAP_SYS_RESOURCE: the CRI sandbox asks for oom_score_adj -998, runc cannot lower it and
//     RunPodSandbox fails; restrict_oom_score_adj = true clamps it to containerd's own value.
//   - no registry: the sandbox image is localhost/kedge/pause:1, imported offline (oci-image.ts).
//   - Debian installs the CNI plugins in /usr/lib/cni, not /opt/cni/bin.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { CNI_BIN_DIR, missingComponents, type Component } from '@kedge/testkit';
import { ctrVersion, isOurContainerd, processExited, removeAllPodSandboxes, unmountUnder, waitForExit } from './containerd-process';

export const SANDBOX_IMAGE = 'localhost/kedge/pause:1';
/** Unlikely to clash: podman/nerdctl default to 10.88.0.0/24, docker to 172.17/16, kind to 10.244/16. */
export const DEFAULT_POD_SUBNET = '10.88.211.0/24';
export const DEFAULT_BRIDGE_NAME = 'kedge-cni0';
// sockaddr_un.sun_path is 108 bytes including the NUL.
const MAX_SOCKET_PATH = 107;

export interface ContainerdPaths {
  dir: string;
  configPath: string;
  socketPath: string;
  pidPath: string;
  logPath: string;
  root: string;
  state: string;
  runcRoot: string;
  optDir: string;
  cniConfDir: string;
  cniIpamDir: string;
  imageCacheDir: string;
}

export function containerdPaths(dir: string): ContainerdPaths {
  const base = resolve(dir);
  return {
    dir: base,
    configPath: join(base, 'config.toml'),
    socketPath: join(base, 'containerd.sock'),
    pidPath: join(base, 'containerd.pid'),
    logPath: join(base, 'containerd.log'),
    root: join(base, 'root'),
    state: join(base, 'state'),
    runcRoot: join(base, 'runc-root'),
    optDir: join(base, 'opt'),
    cniConfDir: join(base, 'cni', 'net.d'),
    cniIpamDir: join(base, 'cni', 'ipam'),
    imageCacheDir: join(base, 'images'),
  };
}

export type ContainerdAvailability = { available: true } | { available: false; reason: string };

/** The test components (libs/testing/testkit) a private containerd needs: the binaries and CNI plugins, root for
 *  runc, and busybox-static for the offline images. Tests declare them with `requires(...PRIVATE_CONTAINERD_NEEDS)`. */
export const PRIVATE_CONTAINERD_NEEDS: readonly Component[] = ['containerd', 'root', 'busybox-static'];

/** Whether a private containerd can run here, and if not, why: for the demo, the benchmark and the CLI. */
export async function isContainerdAvailable(): Promise<ContainerdAvailability> {
  const missing = await missingComponents(PRIVATE_CONTAINERD_NEEDS, new Set());
  if (missing.length === 0) return { available: true };
  return { available: false, reason: missing.map((m) => `${m.component}: ${m.reason}; install: ${m.install}`).join('; ') };
}

export interface PrivateContainerdOptions {
  podSubnet?: string;
  bridgeName?: string;
  /** How long to wait for the socket to answer. Default 15 s. */
  startTimeoutMs?: number;
}

function tomlString(value: string): string {
  if (/["\\\n]/.test(value)) throw new Error(`path not usable in containerd config: ${value}`);
  return `"${value}"`;
}

export function containerdConfig(paths: ContainerdPaths, streamPort: number): string {
  const q = tomlString;
  return `# Written by libs/testing/containerd-fixture/src/private-containerd.ts. Everything lives under ${paths.dir}.
version = 2
root = ${q(paths.root)}
state = ${q(paths.state)}
# Snapshotters that cannot work here; disabling them keeps the log readable.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = ${q(paths.socketPath)}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(SANDBOX_IMAGE)}
  # REQUIRED here: no CAP_SYS_RESOURCE, so runc cannot set the sandbox's oom_score_adj of -998.
  restrict_oom_score_adj = true
  # Exec/Attach URLs point here; a fixed port (default 10010) would clash between private instances.
  stream_server_address = "127.0.0.1"
  stream_server_port = "${streamPort}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = ${q(CNI_BIN_DIR)}
    conf_dir = ${q(paths.cniConfDir)}
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = ${q(paths.runcRoot)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(paths.optDir)}
`;
}

/** Bridge + host-local IPAM (state kept under <dir>) + portmap. The pod's lo is set up by containerd's CRI
 *  itself with the loopback plugin from the same bin dir, so it is not part of this chain. */
export function bridgeConflist(paths: ContainerdPaths, podSubnet: string, bridgeName: string): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'kedge-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: bridgeName,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: paths.cniIpamDir },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function readPid(dir: string): number | undefined {
  const { pidPath } = containerdPaths(dir);
  if (!existsSync(pidPath)) return undefined;
  const pid = Number.parseInt(readFileSync(pidPath, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function logTail(logPath: string, lines = 15): string {
  try {
    return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface PrivateContainerd {
  paths: ContainerdPaths;
  socketPath: string;
  pid: number;
  stop(): Promise<StopReport>;
}

/** Starts containerd for dir and resolves once its socket answers. Throws if one is already running there. */
export async function startPrivateContainerd(dir: string, options: PrivateContainerdOptions = {}): Promise<PrivateContainerd> {
  const paths = containerdPaths(dir);
  if (paths.socketPath.length > MAX_SOCKET_PATH) throw new Error(`socket path too long for a unix socket (${paths.socketPath.length} > ${MAX_SOCKET_PATH}): ${paths.socketPath}`);
  const running = readPid(dir);
  if (running !== undefined && isOurContainerd(running, paths.configPath)) throw new Error(`containerd already running for ${paths.dir} (pid ${running})`);

  for (const path of [paths.root, paths.state, paths.runcRoot, paths.optDir, paths.cniConfDir, paths.cniIpamDir, paths.imageCacheDir]) {
    await mkdir(path, { recursive: true });
  }
  await writeFile(paths.configPath, containerdConfig(paths, await freeLoopbackPort()));
  await writeFile(join(paths.cniConfDir, '10-kedge-pods.conflist'), bridgeConflist(paths, options.podSubnet ?? DEFAULT_POD_SUBNET, options.bridgeName ?? DEFAULT_BRIDGE_NAME));
  await rm(paths.socketPath, { force: true });

  const logFd = openSync(paths.logPath, 'a');
  // Detached with its own session: it must outlive a CLI invocation and not get the terminal's signals.
  const child = spawn('containerd', ['--config', paths.configPath], { detached: true, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exitedEarly: string | undefined;
  child.once('exit', (code, signal) => (exitedEarly = `exited with ${signal ?? `code ${code}`}`));
  child.once('error', (error) => (exitedEarly = `could not start: ${error.message}`));
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`containerd did not start: ${logTail(paths.logPath)}`);
  await writeFile(paths.pidPath, `${pid}\n`);

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  while (!(await ctrVersion(paths.socketPath))) {
    if (exitedEarly) throw new Error(`containerd for ${paths.dir} ${exitedEarly}; log tail:\n${logTail(paths.logPath)}`);
    if (Date.now() > deadline) {
      await stopPrivateContainerd(dir);
      throw new Error(`containerd for ${paths.dir} did not answer on ${paths.socketPath} in time; log tail:\n${logTail(paths.logPath)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { paths, socketPath: paths.socketPath, pid, stop: () => stopPrivateContainerd(dir) };
}

export interface StopReport {
  /** The pid that was stopped; undefined when nothing was running. */
  pid: number | undefined;
  removedSandboxes: string[];
  unmounted: string[];
  /** the CNI bridge removed from the host, when it was ours and no other pod still used it */
  removedBridge: string | undefined;
}

/** Removes the pods, stops containerd by its recorded pid (TERM, then KILL) and unmounts leftovers under dir. */
export async function stopPrivateContainerd(dir: string, options: { graceMs?: number } = {}): Promise<StopReport> {
  const paths = containerdPaths(dir);
  const recorded = readPid(dir);
  const pid = recorded !== undefined && isOurContainerd(recorded, paths.configPath) ? recorded : undefined;
  let removedSandboxes: string[] = [];
  if (pid !== undefined) {
    // Pods first: their shims, mounts and netns would otherwise outlive containerd.
    removedSandboxes = await removeAllPodSandboxes(paths.socketPath);
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, options.graceMs ?? 5_000))) {
      if (!processExited(pid)) process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
  }
  const unmounted = await unmountUnder(paths.dir);
  const removedBridge = removeIdleBridge(paths);
  await rm(paths.pidPath, { force: true });
  await rm(paths.socketPath, { force: true });
  return { pid, removedSandboxes, unmounted, removedBridge };
}

/**
 * The CNI bridge plugin creates the bridge on the first pod and never removes it. Once this
 * containerd's pods are gone, delete it — but only while no interface is attached, since another
 * private containerd (another test file) may share the name and still have pods on it.
 */
function removeIdleBridge(paths: ContainerdPaths): string | undefined {
  const conflist = join(paths.cniConfDir, '10-kedge-pods.conflist');
  let bridge: string | undefined;
  try {
    const config = JSON.parse(readFileSync(conflist, 'utf8')) as { plugins?: { type?: string; bridge?: string }[] };
    bridge = config.plugins?.find((plugin) => plugin.type === 'bridge')?.bridge;
  } catch {
    return undefined;
  }
  if (bridge === undefined || !/^kedge-cni[\w-]*$/.test(bridge)) return undefined;
  const ports = `/sys/class/net/${bridge}/brif`;
  if (!existsSync(ports) || readdirSync(ports).length > 0) return undefined;
  try {
    execFileSync('ip', ['link', 'delete', bridge, 'type', 'bridge'], { stdio: 'ignore' });
    return bridge;
  } catch {
    return undefined; // gone already, or no right to: leaving it is harmless
  }
}

export interface ContainerdStatus {
  running: boolean;
  pid: number | undefined;
  socketPath: string;
  /** `ctr version` server line, when it answered. */
  version: string | undefined;
}

export async function privateContainerdStatus(dir: string): Promise<ContainerdStatus> {
  const paths = containerdPaths(dir);
  const recorded = readPid(dir);
  const pid = recorded !== undefined && isOurContainerd(recorded, paths.configPath) ? recorded : undefined;
  const version = pid !== undefined ? await ctrVersion(paths.socketPath) : undefined;
  return { running: pid !== undefined && version !== undefined, pid, socketPath: paths.socketPath, version };
}
