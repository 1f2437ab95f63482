// Builds the self-contained gateway bundles: kedge-gateway-<version>-linux-<arch>.tar.gz with
//   node/bin/node, node/LICENSE   the official Node.js runtime (node-linux-<arch> from the npm registry,
//                                 integrity-checked, the version this machine runs, so the native ABI matches)
//   bin/edgecore, bin/kedgeadm    launchers that run lib/<app>.mjs on that runtime, never the system's node
//   lib/edgecore.mjs, lib/kedgeadm.mjs, lib/node_modules/...   (natives for <arch>; cross-built for arm64)
//   proto/, crds/                 read at runtime
//   manifest.json, SHA256SUMS     what is inside, and the sha256 of every other file
// plus install.sh (the one-line installer cloudcore serves) next to them in the output dir.
// Usage: node --import tsx tools/package/gateway-bundle.ts [--out dist/gateway] [--arch x64|arm64|all]
// A gateway needs nothing installed: glibc >= 2.28 (the official Node 20 binaries' floor), tar, gzip, curl.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoVersion } from './bundle';
import { ARM64_NODE_VERSION, arm64CacheDir, type Log, stderrLog } from './cross-arm64';
import { stageEdgeTree, type GatewayApp } from './edgecore-tarball';
import { edgecoreLaunchLines } from './node-options';
import { ensureNodeRuntime, hostNodeVersion, type NodeRuntime, type RuntimeArch } from './node-runtime';

/** The install script cloudcore serves; copied next to the bundles. */
export const INSTALL_SCRIPT = resolve(import.meta.dirname, 'gateway', 'install.sh');

export const gatewayBundleName = (arch: RuntimeArch, version = repoVersion()): string => `kedge-gateway-${version}-linux-${arch}.tar.gz`;

const APPS: GatewayApp[] = ['edgecore', 'kedgeadm'];

export const launcher = (app: GatewayApp): string => `#!/bin/sh
# kedge ${app}: runs on the Node.js runtime shipped in this bundle (node/bin/node), never the system's.
# KEDGE_NODE overrides it (e.g. a qemu-user wrapper when trying an arm64 bundle on x86-64).
DIR=$(cd "$(dirname "$0")/.." && pwd -P)
${
  // the daemon gets the small-device settings; kedgeadm is a short command and keeps Node's defaults
  app === 'edgecore'
    ? edgecoreLaunchLines('"${KEDGE_NODE:-$DIR/node/bin/node}"', `lib/${app}.mjs`)
    : `exec "\${KEDGE_NODE:-$DIR/node/bin/node}" "$DIR/lib/${app}.mjs" "$@"\n`
}`;

export interface GatewayBundleManifest {
  name: string;
  version: string;
  platform: string;
  node: { version: string; abi: number; integrity: string };
  apps: GatewayApp[];
  packages: string[];
  notes: string[];
}

export interface GatewayBundle {
  file: string;
  arch: RuntimeArch;
  sha256: string;
  bytes: number;
  /** bytes of the unpacked tree */
  unpackedBytes: number;
  manifest: GatewayBundleManifest;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The runtime the bundle for `arch` ships: this machine's version for x64, the arm64 build's pinned one for arm64. */
export function runtimeFor(arch: RuntimeArch, log: Log): NodeRuntime {
  const version = arch === 'arm64' ? ARM64_NODE_VERSION : hostNodeVersion();
  if (arch === 'x64' && process.arch !== 'x64') throw new Error(`an x64 bundle is built on linux-x64 (native modules come from this checkout); this is ${process.arch}`);
  // arm64: the same cached runtime whose headers the native modules were cross-compiled against
  return ensureNodeRuntime(arch, { version, log, ...(arch === 'arm64' ? { cacheDir: arm64CacheDir() } : {}) });
}

export async function buildGatewayBundle(outDir: string, arch: RuntimeArch, log: Log = stderrLog): Promise<GatewayBundle> {
  const version = repoVersion();
  const platform = `linux-${arch}`;
  const name = `kedge-gateway-${version}-${platform}`;
  const runtime = runtimeFor(arch, log);
  const stage = mkdtempSync(join(tmpdir(), 'kedge-gateway-'));
  try {
    const root = join(stage, name);
    const { packages, notes } = await stageEdgeTree(root, { arch, log, apps: APPS });
    rmSync(join(root, 'systemd'), { recursive: true, force: true }); // kedgeadm join writes the unit
    mkdirSync(join(root, 'node', 'bin'), { recursive: true });
    copyFileSync(runtime.node, join(root, 'node', 'bin', 'node'));
    chmodSync(join(root, 'node', 'bin', 'node'), 0o755);
    copyFileSync(join(runtime.dir, 'LICENSE'), join(root, 'node', 'LICENSE'));
    for (const app of APPS) {
      writeFileSync(join(root, 'bin', app), launcher(app));
      chmodSync(join(root, 'bin', app), 0o755);
    }
    const manifest: GatewayBundleManifest = {
      name,
      version,
      platform,
      node: { version: runtime.version, abi: runtime.abi, integrity: runtime.integrity },
      apps: APPS,
      packages,
      notes,
    };
    writeFileSync(join(root, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // sha256sum -c format, checked by install.sh after unpacking
    const sums = filesUnder(root).map((file) => `${sha256File(join(root, file))}  ${file}`);
    writeFileSync(join(root, 'SHA256SUMS'), `${sums.join('\n')}\n`);
    const unpackedBytes = filesUnder(root).reduce((sum, file) => sum + statSync(join(root, file)).size, 0);
    mkdirSync(outDir, { recursive: true });
    const file = join(resolve(outDir), `${name}.tar.gz`);
    log(`packing ${file} ...`);
    const partial = `${file}.partial`;
    execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', partial, '-C', stage, name]);
    execFileSync('mv', ['-f', partial, file]);
    copyFileSync(INSTALL_SCRIPT, join(resolve(outDir), 'install.sh'));
    return { file, arch, sha256: sha256File(file), bytes: statSync(file).size, unpackedBytes, manifest };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const wanted = argValue('--arch') ?? 'all';
  if (!['x64', 'arm64', 'all'].includes(wanted)) throw new Error(`--arch ${wanted}: expected x64, arm64 or all`);
  const arches: RuntimeArch[] = wanted === 'all' ? ['x64', 'arm64'] : [wanted as RuntimeArch];
  const out = argValue('--out') ?? join('dist', 'gateway');
  for (const arch of arches) {
    const start = Date.now();
    const bundle = await buildGatewayBundle(out, arch);
    stderrLog(`${bundle.file}: ${(bundle.bytes / 1e6).toFixed(1)} MB (${(bundle.unpackedBytes / 1e6).toFixed(1)} MB unpacked), built in ${((Date.now() - start) / 1000).toFixed(1)}s`);
    process.stdout.write(`${bundle.sha256}  ${bundle.file}\n`);
  }
  process.stdout.write(`${join(resolve(out), 'install.sh')}\nserve them: cloudHub.https.bundleDir: ${resolve(out)} in cloudcore.yaml\n`);
}
