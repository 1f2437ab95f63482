// Builds the edge gateway tarball: kedge-edgecore-<version>-linux-<arch>.tar.gz with
//   bin/edgecore                 launcher (exec node lib/edgecore.mjs)
//   lib/edgecore.mjs             esbuild bundle of apps/edgecore/src/main.ts
//   lib/node_modules/...         native / runtime-loaded packages for this machine's platform
//   proto/, crds/                files the code reads at runtime
//   systemd/edgecore.service     unit template
//   README.md
// Usage: node --import tsx tools/package/edgecore-tarball.ts [--out dist/]
// Native modules come from this checkout's node_modules, so the tarball is for the build machine's
// platform: run it on a linux-arm64 machine for an arm64 tarball (see docs/deploy.md).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHIPPED_PACKAGES, bundleApp, copyPackages, copyRuntimeAssets, repoVersion } from './bundle';

const LAUNCHER = `#!/bin/sh
# kedge edgecore launcher: needs node >= 20 on PATH (or set NODE=/path/to/node)
DIR="$(cd "$(dirname "$0")/.." && pwd)"
exec "\${NODE:-node}" "$DIR/lib/edgecore.mjs" "$@"
`;

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

const readme = (version: string, platform: string, packages: string[]) => `# kedge edgecore ${version} (${platform})

Self-contained edge node agent. Needs Node.js >= 20 on the gateway (\`node\` on PATH, or NODE=/path/to/node).

    sudo mkdir -p /opt/kedge/edgecore
    sudo tar -xzf kedge-edgecore-${version}-${platform}.tar.gz -C /opt/kedge/edgecore --strip-components=1
    /opt/kedge/edgecore/bin/edgecore --print-default-config > /etc/kedge/edgecore.yaml   # then edit nodeName, cloud address
    sudo cp /opt/kedge/edgecore/systemd/edgecore.service /etc/systemd/system/
    sudo systemctl enable --now edgecore     # first start: set KEDGE_JOIN_TOKEN or pass --token

Or let \`kedgeadm join ... --edgecore-command /opt/kedge/edgecore/bin/edgecore\` write config, certificates and unit.

QUIC is optional: if @matrixai/quic's native part for this platform is missing, edgecore runs over WebSocket.
Shipped native/runtime packages: ${packages.join(', ')}
`;

export interface TarballResult {
  file: string;
  version: string;
  packages: string[];
}

export async function buildEdgecoreTarball(outDir: string): Promise<TarballResult> {
  const version = repoVersion();
  const platform = `${process.platform}-${process.arch}`;
  const name = `kedge-edgecore-${version}-${platform}`;
  const stage = mkdtempSync(join(tmpdir(), 'kedge-pkg-'));
  try {
    const root = join(stage, name);
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'lib'), { recursive: true });
    mkdirSync(join(root, 'systemd'), { recursive: true });
    await bundleApp('apps/edgecore/src/main.ts', join(root, 'lib', 'edgecore.mjs'));
    writeFileSync(join(root, 'lib', 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');
    copyRuntimeAssets(root);
    const packages = copyPackages(SHIPPED_PACKAGES, join(root, 'lib', 'node_modules'));
    writeFileSync(join(root, 'bin', 'edgecore'), LAUNCHER);
    chmodSync(join(root, 'bin', 'edgecore'), 0o755);
    writeFileSync(join(root, 'systemd', 'edgecore.service'), UNIT);
    writeFileSync(join(root, 'README.md'), readme(version, platform, packages));
    mkdirSync(outDir, { recursive: true });
    const file = join(resolve(outDir), `${name}.tar.gz`);
    execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', file, '-C', stage, name]);
    return { file, version, packages };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outIndex = process.argv.indexOf('--out');
  const outDir = outIndex >= 0 && process.argv[outIndex + 1] ? process.argv[outIndex + 1]! : 'dist';
  const result = await buildEdgecoreTarball(outDir);
  process.stdout.write(`${result.file}\n`);
}
