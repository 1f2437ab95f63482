// Builds the cloudcore OCI image OFFLINE as an image-layout tar (what `ctr images import` reads):
//   localhost/kedge/cloudcore:<version>, Entrypoint ["/usr/local/bin/node", "/app/cloudcore.mjs"]
// One layer: this machine's node binary (process.execPath) plus the shared libraries `ldd` lists for
// it, the esbuild bundle of apps/cloudcore/src/main.ts, the external packages it imports, and
// /proto + /crds (read at runtime relative to the bundle). Deterministic (mtime 0), via the tar
// writer of libs/testing/containerd-fixture.
// The image preloads jemalloc (Debian libjemalloc2) as cloudcore's allocator: with glibc's malloc an idle
// edge connection (OpenSSL's and libuv's per-connection allocations) costs cloudcore about 50 KiB of RSS, with
// jemalloc under 30 KiB (docs/benchmarks.md, edge scale). `LD_PRELOAD=` in the Deployment's env turns it off.
// Usage: node --import tsx tools/package/cloudcore-image.ts [--out dist/] [--import <containerd.sock>]
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTar, importImageTar, ociLayoutTar, type TarEntry } from '@kedge/containerd-fixture';
import { EXTERNAL_PACKAGES, bundleApp, copyPackages, copyRuntimeAssets, repoVersion } from './bundle';

export const cloudcoreImageName = (version = repoVersion()): string => `localhost/kedge/cloudcore:${version}`;

/** Shared libraries the node binary needs (absolute paths as ldd prints them, loader included). */
export function sharedLibraries(binary: string): string[] {
  const output = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs = new Set<string>();
  for (const line of output.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const path = arrow?.[1] ?? bare?.[1];
    if (path) libs.add(path);
  }
  return [...libs];
}

/** Where the dynamic loader finds jemalloc on this machine; the image keeps the same path. */
export function jemallocLibrary(): string {
  const output = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' });
  const found = /\slibjemalloc\.so\.2 \([^)]*\) => (\/\S+)/.exec(output)?.[1];
  if (found === undefined) {
    throw new Error('libjemalloc.so.2 not found: install the Debian package libjemalloc2 (bash tools/install-system-deps.sh); the cloudcore image preloads it as its allocator');
  }
  return found;
}

/** Which external packages the bundle really imports (only those are shipped). */
function importedExternals(bundle: string): string[] {
  const text = readFileSync(bundle, 'utf8');
  const roots = new Set<string>();
  for (const match of text.matchAll(/(?:from\s*|import\(\s*|require\(\s*)["']((?:@[^/"']+\/)?[^/"']+)/g)) roots.add(match[1]!);
  return [...roots].filter((name) => EXTERNAL_PACKAGES.some((e) => (e.endsWith('/*') ? name.startsWith(e.slice(0, -1)) : e === name)));
}

function treeEntries(dir: string, prefix: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const inImage = `${prefix}/${relative(dir, full)}`;
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) entries.push({ type: 'symlink', path: inImage, target: readlinkSync(full) });
      else if (stat.isDirectory()) {
        entries.push({ type: 'dir', path: inImage });
        walk(full);
      } else entries.push({ type: 'file', path: inImage, data: readFileSync(full), mode: stat.mode & 0o777 });
    }
  };
  walk(dir);
  return entries;
}

function parentDirs(paths: string[]): TarEntry[] {
  const dirs = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs].sort().map((path): TarEntry => ({ type: 'dir', path }));
}

export async function buildCloudcoreImageTar(outDir: string): Promise<{ file: string; image: string; packages: string[] }> {
  const version = repoVersion();
  const image = cloudcoreImageName(version);
  const stage = mkdtempSync(join(tmpdir(), 'kedge-img-'));
  try {
    const app = join(stage, 'app');
    mkdirSync(app, { recursive: true });
    await bundleApp('apps/cloudcore/src/main.ts', join(app, 'cloudcore.mjs'));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }) + '\n');
    const packages = copyPackages(importedExternals(join(app, 'cloudcore.mjs')), join(app, 'node_modules'));
    const assets = join(stage, 'assets');
    copyRuntimeAssets(assets);

    const node = realpathSync(process.execPath);
    const jemalloc = jemallocLibrary();
    const libPaths = [...new Set([...sharedLibraries(node), jemalloc, ...sharedLibraries(jemalloc)])];
    const libs = libPaths.map((path) => ({ path: path.slice(1), data: readFileSync(realpathSync(path)) }));
    const files: TarEntry[] = [
      { type: 'file', path: 'usr/local/bin/node', data: readFileSync(node), mode: 0o755 },
      ...libs.map(({ path, data }): TarEntry => ({ type: 'file', path, data, mode: 0o755 })),
      { type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') },
      { type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nnobody:x:65534:\n') },
    ];
    const layerTar = createTar([
      ...parentDirs(files.map((f) => f.path)).filter((d) => d.path !== 'tmp'),
      { type: 'dir', path: 'tmp', mode: 0o1777 },
      { type: 'dir', path: 'var' },
      { type: 'dir', path: 'var/lib' },
      { type: 'dir', path: 'var/lib/kedge' },
      { type: 'dir', path: 'etc/kedge' },
      ...files,
      { type: 'dir', path: 'app' },
      ...treeEntries(app, 'app'),
      { type: 'dir', path: 'proto' },
      ...treeEntries(join(assets, 'proto'), 'proto'),
      { type: 'dir', path: 'crds' },
      ...treeEntries(join(assets, 'crds'), 'crds'),
    ]);
    const layout = ociLayoutTar(layerTar, [
      {
        name: image,
        process: {
          Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production', `LD_PRELOAD=${jemalloc}`],
          Entrypoint: ['/usr/local/bin/node', '/app/cloudcore.mjs'],
          Cmd: ['--config', '/etc/kedge/cloudcore.yaml'],
          WorkingDir: '/app',
          ExposedPorts: { '10000/tcp': {}, '10001/udp': {}, '10002/tcp': {}, '9091/tcp': {} },
        },
        createdBy: 'kedge tools/package/cloudcore-image.ts',
      },
    ]);
    const architecture = process.arch === 'x64' ? 'amd64' : process.arch;
    mkdirSync(outDir, { recursive: true });
    const file = join(resolve(outDir), `kedge-cloudcore-${version}-linux-${architecture}.oci.tar`);
    writeFileSync(file, layout);
    return { file, image, packages };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (flag: string): string | undefined => {
    const i = process.argv.indexOf(flag);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const result = await buildCloudcoreImageTar(arg('--out') ?? 'dist');
  const socket = arg('--import');
  if (socket) await importImageTar(socket, result.file);
  process.stdout.write(`${result.file}\n${result.image}${socket ? ` (imported into ${socket})` : ''}\n`);
}
