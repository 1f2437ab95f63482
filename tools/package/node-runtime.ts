// The official Node.js runtime for a gateway bundle, from the npm registry's node-linux-<arch> packages
// (the nodejs.org release binaries, republished). Fetched with `npm pack`, checked against the
// sha512 integrity the registry's metadata lists for that version (not just npm's own check: the
// digest we compare is written into the cache marker, so a cache entry is always a verified one),
// unpacked once into a cache dir. The version is this machine's `process.version` by default: the
// native modules in node_modules were built for its ABI.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from './bundle';

export type RuntimeArch = 'x64' | 'arm64';

export interface NodeRuntime {
  /** unpacked package: bin/node, include/node/..., LICENSE */
  dir: string;
  node: string;
  version: string;
  arch: RuntimeArch;
  /** NODE_MODULE_VERSION of its headers */
  abi: number;
  /** the registry's `dist.integrity` the tarball matched (sha512-<base64>) */
  integrity: string;
}

const VERIFIED_MARKER = '.kedge-verified-integrity';

/** Cache for runtimes: $KEDGE_NODE_RUNTIME_CACHE or node_modules/.cache/kedge-node-runtime (gitignored). */
export function nodeRuntimeCacheDir(): string {
  return resolve(process.env['KEDGE_NODE_RUNTIME_CACHE'] ?? join(repoRoot, 'node_modules', '.cache', 'kedge-node-runtime'));
}

/** This machine's Node version without the "v". */
export function hostNodeVersion(): string {
  return process.version.replace(/^v/, '');
}

export class NodeRuntimeError extends Error {
  override readonly name = 'NodeRuntimeError';
}

/** What the registry says about node-linux-<arch>@<version>: its tarball's sha512 integrity. */
function registryIntegrity(pkg: string): string {
  const view = spawnSync('npm', ['view', pkg, 'dist.integrity', '--json'], { encoding: 'utf8' });
  if (view.status !== 0) throw new NodeRuntimeError(`npm view ${pkg} failed: ${view.stderr.trim() || view.error?.message}; is the npm registry reachable?`);
  let integrity: unknown;
  try {
    integrity = JSON.parse(view.stdout);
  } catch {
    throw new NodeRuntimeError(`npm view ${pkg} dist.integrity answered ${JSON.stringify(view.stdout.slice(0, 200))}, not JSON`);
  }
  if (typeof integrity !== 'string' || !/^sha512-[A-Za-z0-9+/]+=*$/.test(integrity)) {
    throw new NodeRuntimeError(`the registry lists no sha512 integrity for ${pkg} (got ${JSON.stringify(integrity)})`);
  }
  return integrity;
}

/** The runtime for `arch`, fetched and verified once, then from the cache. */
export function ensureNodeRuntime(arch: RuntimeArch, options: { version?: string; cacheDir?: string; log?: (line: string) => void } = {}): NodeRuntime {
  const version = options.version ?? hostNodeVersion();
  const log = options.log ?? ((line: string) => process.stderr.write(`[node-runtime] ${line}\n`));
  const cache = options.cacheDir ?? nodeRuntimeCacheDir();
  const pkg = `node-linux-${arch}@${version}`;
  const dir = join(cache, `node-v${version}-linux-${arch}`);
  if (!existsSync(join(dir, VERIFIED_MARKER))) {
    const start = Date.now();
    const integrity = registryIntegrity(pkg);
    log(`fetching ${pkg} (official Node.js binary for linux-${arch}) with npm pack ...`);
    mkdirSync(cache, { recursive: true });
    const work = mkdtempSync(join(cache, 'download-'));
    try {
      const packed = spawnSync('npm', ['pack', pkg, '--pack-destination', work, '--silent'], { encoding: 'utf8' });
      if (packed.status !== 0) throw new NodeRuntimeError(`npm pack ${pkg} failed: ${packed.stderr.trim() || packed.error?.message}`);
      const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
      if (tgz === undefined) throw new NodeRuntimeError(`npm pack ${pkg} produced no .tgz`);
      const actual = `sha512-${createHash('sha512').update(readFileSync(join(work, tgz))).digest('base64')}`;
      if (actual !== integrity) {
        throw new NodeRuntimeError(`${pkg}: the downloaded tarball has integrity ${actual}, but the registry lists ${integrity}; refusing to use it`);
      }
      const untar = spawnSync('tar', ['-xzf', join(work, tgz), '-C', work], { encoding: 'utf8' });
      if (untar.status !== 0) throw new NodeRuntimeError(`extracting ${tgz}: ${untar.stderr}`);
      writeFileSync(join(work, 'package', VERIFIED_MARKER), `${integrity}\n`);
      rmSync(dir, { recursive: true, force: true });
      try {
        renameSync(join(work, 'package'), dir);
      } catch (error) {
        // a concurrent build published the same verified runtime first
        if (!existsSync(join(dir, VERIFIED_MARKER))) throw error;
      }
      log(`${pkg}: integrity ${integrity.slice(0, 22)}... verified, unpacked into ${dir} (${((Date.now() - start) / 1000).toFixed(1)}s)`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const node = join(dir, 'bin', 'node');
  const header = readFileSync(join(dir, 'include', 'node', 'node_version.h'), 'utf8');
  const abi = Number(/#define NODE_MODULE_VERSION (\d+)/.exec(header)?.[1]);
  if (!Number.isInteger(abi)) throw new NodeRuntimeError(`no NODE_MODULE_VERSION in ${dir}/include/node/node_version.h`);
  const integrity = readFileSync(join(dir, VERIFIED_MARKER), 'utf8').trim();
  return { dir, node, version, arch, abi, integrity };
}
