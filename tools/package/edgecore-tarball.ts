// Builds the edge gateway tarball: kedge-edgecore-<version>-linux-<arch>.tar.gz with
//   bin/edgecore                 launcher (exec node lib/edgecore.mjs)
//   lib/edgecore.mjs             esbuild bundle of apps/edgecore/src/main.ts
//   lib/edgecore-*.mjs           its features loaded on demand (dynamic import), read only when turned on
//   lib/edgecore-helper.mjs      the start-up helper edgecore runs as a child process (validates the config)
//   lib/node_modules/...         native / runtime-loaded packages for this machine's platform
//   proto/, crds/                files the code reads at runtime
//   systemd/edgecore.service     unit template
//   README.md
// Usage: node --import tsx tools/package/edgecore-tarball.ts [--out dist/] [--arch x64|arm64]
// Native modules come from this checkout's node_modules, so by default (--arch = this machine's) the
// tarball is for the build machine's platform. `--arch arm64` on an x86-64 machine cross-builds: the
// packages are the same, their native parts are replaced by linux-arm64 prebuilds or node-gyp
// cross-compiles (cross-arm64.ts; needs g++-aarch64-linux-gnu, cached under node_modules/.cache).
// See docs/deploy.md "linux-arm64".
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { APP_HELPER_ENTRIES, SHIPPED_PACKAGES, bundleApp, copyPackages, copyRuntimeAssets, pruneNativeBuildLeftovers, repoVersion } from './bundle';
import { edgecoreLaunchLines } from './node-options';
import { ARM64_NODE_VERSION, type Log, type NativeReport, makeNativesArm64, stderrLog } from './cross-arm64';

export const LAUNCHER = `#!/bin/sh
# kedge edgecore launcher: needs node >= 20 on PATH (or set NODE=/path/to/node)
DIR="$(cd "$(dirname "$0")/.." && pwd)"
${edgecoreLaunchLines('"${NODE:-node}"', 'lib/edgecore.mjs')}`;

const UNIT = `# kedge edgecore; install: cp this file /etc/systemd/system/edgecore.service && systemctl enable --now edgecore
# (assumes the tarball was extracted to /opt/kedge/edgecore; adjust ExecStart otherwise)
[Unit]
Description=kedge edgecore (edge node agent)
After=network-online.target containerd.service
Wants=network-online.target

[Service]
ExecStart=/opt/kedge/edgecore/bin/edgecore --config /etc/kedge/edgecore.yaml
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;

const readme = (version: string, platform: string, packages: string[], notes: string[]) => `# kedge edgecore ${version} (${platform})

Self-contained edge node agent. Needs Node.js >= 20 on the gateway (\`node\` on PATH, or NODE=/path/to/node).

    sudo mkdir -p /opt/kedge/edgecore
    sudo tar -xzf kedge-edgecore-${version}-${platform}.tar.gz -C /opt/kedge/edgecore --strip-components=1
    /opt/kedge/edgecore/bin/edgecore --print-default-config > /etc/kedge/edgecore.yaml   # then edit nodeName, cloud address
    sudo cp /opt/kedge/edgecore/systemd/edgecore.service /etc/systemd/system/
    sudo systemctl enable --now edgecore     # first start: set edgeHub.tokenFile (a root-only file with the token from kedgeadm token create)

Or let \`kedgeadm join ... --edgecore-command /opt/kedge/edgecore/bin/edgecore\` write config, certificates and unit.

QUIC is optional: if @matrixai/quic's native part for this platform is missing, edgecore runs over WebSocket.
${notes.map((n) => `${n}\n`).join('')}Shipped native/runtime packages: ${packages.join(', ')}
`;

export interface TarballResult {
  file: string;
  version: string;
  arch: string;
  packages: string[];
  /** arm64 cross-build only: how each native package got its linux-arm64 binary */
  natives: NativeReport[];
  /** caveats also written to the tarball's README (e.g. no QUIC) */
  notes: string[];
}

export interface TarballOptions {
  /** target CPU: this machine's (default), or arm64 cross-built on an x64 machine */
  arch?: string;
  /** progress lines (default: stderr) */
  log?: Log;
}

/** Highest GLIBC_x.y symbol version the .node files reference: the gateway's glibc must be at least that. */
function glibcNeeded(files: string[]): string | undefined {
  let best: [number, number] | undefined;
  for (const file of files) {
    for (const m of readFileSync(file).toString('latin1').matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
      const v: [number, number] = [Number(m[1]), Number(m[2])];
      if (best === undefined || v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
    }
  }
  return best && `${best[0]}.${best[1]}`;
}

export interface StagedTree {
  packages: string[];
  natives: NativeReport[];
  notes: string[];
}

/** The apps a gateway tree can hold: lib/<app>.mjs bundled from apps/<app>/src/main.ts. */
export type GatewayApp = 'edgecore' | 'kedgeadm';

/**
 * Lays out the part every gateway package shares under `root`: lib/<app>.mjs for each app, lib/node_modules
 * (native modules for `arch`, cross-built for arm64), proto/, crds/, bin/ and systemd/ (empty).
 */
export async function stageEdgeTree(root: string, options: { arch: string; log: Log; apps: GatewayApp[] }): Promise<StagedTree> {
  const { arch, log } = options;
  const cross = arch !== process.arch;
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'lib'), { recursive: true });
  mkdirSync(join(root, 'systemd'), { recursive: true });
  for (const app of options.apps) {
    log(`${root.split('/').pop()}: bundling apps/${app}/src/main.ts with esbuild ...`);
    await bundleApp(`apps/${app}/src/main.ts`, join(root, 'lib', `${app}.mjs`), { splitting: true, compact: true, helpers: APP_HELPER_ENTRIES[app] ?? [] });
  }
  writeFileSync(join(root, 'lib', 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');
  copyRuntimeAssets(root);
  const nodeModules = join(root, 'lib', 'node_modules');
  const skipped: string[] = [];
  const packages = copyPackages(SHIPPED_PACKAGES, nodeModules, { arch, skipped });
  log(`copied ${packages.length} runtime packages into lib/node_modules${skipped.length > 0 ? ` (left out, other platform: ${skipped.join(', ')})` : ''}`);
  const notes: string[] = [];
  let natives: NativeReport[] = [];
  if (cross) {
    log(`cross-building native modules for linux-${arch} ...`);
    natives = await makeNativesArm64(nodeModules, log);
    const glibc = glibcNeeded(natives.flatMap((n) => n.files));
    const major = ARM64_NODE_VERSION.split('.')[0];
    notes.push(`Native modules were cross-built for linux-${arch} against Node.js ${ARM64_NODE_VERSION}: the gateway needs Node.js ${major}.x${glibc ? ` and glibc >= ${glibc}` : ''}.`);
  }
  if (!existsSync(join(nodeModules, '@matrixai', `quic-linux-${arch}`))) {
    const why = cross ? `@matrixai/quic has no native prebuild for linux-${arch} on npm` : `@matrixai/quic-linux-${arch} is not installed here`;
    const note = `No QUIC: ${why}, so this tarball ships without it; edgecore connects to cloudcore over WebSocket (the default; edgeHub.protocol: quic falls back to WebSocket with a warning).`;
    notes.push(note);
    log(`WARNING: ${note}`);
  }
  const pruned = pruneNativeBuildLeftovers(nodeModules);
  log(`pruned ${pruned.length} build leftovers of native packages (objects, makefiles, sqlite sources)`);
  return { packages, natives, notes };
}

export async function buildEdgecoreTarball(outDir: string, options: TarballOptions = {}): Promise<TarballResult> {
  const arch = options.arch ?? process.arch;
  const log = options.log ?? stderrLog;
  const cross = arch !== process.arch;
  if (cross && !(arch === 'arm64' && process.arch === 'x64' && process.platform === 'linux')) {
    throw new Error(`--arch ${arch}: only this machine's arch (${process.arch}) or arm64 cross-built on linux-x64 are supported`);
  }
  const version = repoVersion();
  const platform = `${process.platform}-${arch}`;
  const name = `kedge-edgecore-${version}-${platform}`;
  const stage = mkdtempSync(join(tmpdir(), 'kedge-pkg-'));
  try {
    const root = join(stage, name);
    const { packages, natives, notes } = await stageEdgeTree(root, { arch, log, apps: ['edgecore'] });
    writeFileSync(join(root, 'bin', 'edgecore'), LAUNCHER);
    chmodSync(join(root, 'bin', 'edgecore'), 0o755);
    writeFileSync(join(root, 'systemd', 'edgecore.service'), UNIT);
    writeFileSync(join(root, 'README.md'), readme(version, platform, packages, notes));
    mkdirSync(outDir, { recursive: true });
    const file = join(resolve(outDir), `${name}.tar.gz`);
    log(`packing ${file} ...`);
    execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', file, '-C', stage, name]);
    return { file, version, arch, packages, natives, notes };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

const argValue = (flag: string): string | undefined => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const start = Date.now();
  const result = await buildEdgecoreTarball(argValue('--out') ?? 'dist', { arch: argValue('--arch') });
  stderrLog(`done in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  process.stdout.write(`${result.file}\n`);
}
