// Shared packaging pieces: an esbuild bundle of one app (ESM, node20) with the native and
// runtime-loaded packages left external, and a copy of those packages (plus everything they
// depend on) into a self-contained node_modules next to the bundle.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Packages with native parts (or files loaded at runtime) that are not bundled but shipped as-is. */
export const EXTERNAL_PACKAGES = [
  'better-sqlite3',
  '@matrixai/quic',
  '@abandonware/noble',
  'modbus-serial',
  'serialport',
  '@serialport/*',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
  // an optional peer dependency of node-opcua's @ster5/global-mutex, imported only by a lock provider kedge does not
  // select; not installed, so it cannot be bundled
  'proper-lockfile',
] as const;

/**
 * Pure-JavaScript packages of EXTERNAL_PACKAGES that a compact bundle takes in after all: loaded from
 * lib/node_modules they are ~60 CommonJS files whose full sources (licence headers, comments) stay in the heap;
 * bundled, they are compacted like the rest (about 1 MB less RSS for edgecore with edged on). They are still
 * shipped, for what protobufjs requires at runtime by name (long).
 */
export const COMPACT_BUNDLED_PACKAGES = ['@grpc/grpc-js', '@grpc/proto-loader'] as const;

/** The packages copied into lib/node_modules (the optional QUIC prebuild only if present). */
export const SHIPPED_PACKAGES = ['better-sqlite3', '@matrixai/quic', '@abandonware/noble', 'modbus-serial', '@grpc/grpc-js', '@grpc/proto-loader'] as const;

export function repoVersion(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

// CJS dependencies bundled into an ESM file still call require() and use __dirname
const BANNER = [
  "import { createRequire as __kedgeCreateRequire } from 'node:module';",
  "import { fileURLToPath as __kedgeFileURLToPath } from 'node:url';",
  "import { dirname as __kedgeDirname } from 'node:path';",
  'const require = __kedgeCreateRequire(import.meta.url);',
  'const __filename = __kedgeFileURLToPath(import.meta.url);',
  'const __dirname = __kedgeDirname(__filename);',
].join('\n');

/**
 * Entry points an app runs as child processes of its own, bundled beside it as lib/<basename>.mjs (sharing its
 * chunks): edgecore's start-up helper validates the config, so the daemon never loads zod or the YAML parser.
 */
export const APP_HELPER_ENTRIES: Readonly<Record<string, readonly string[]>> = {
  edgecore: ['apps/edgecore/src/edgecore-helper.ts'],
};

/**
 * Bundles `entry` into `outfile` (and each of `helpers` into its own entry file beside it). With `splitting`, code reached only through a dynamic `import()` (edgecore's
 * features that the config may leave off, the OPC UA driver) goes into chunk files beside it, under
 * `<name>-*.mjs` (the same folder: sources read files relative to their module), read only when imported: a gateway without that feature never parses or holds it.
 * With `compact`, comments, whitespace and redundant syntax go (identifiers stay, so stack traces and logs keep real
 * names). Node.js keeps every loaded module's source in the heap, and a single non-ASCII character in a comment
 * (an em dash, a `§`) makes it a two-byte string: 1 MB of source then costs 2 MB. esbuild escapes non-ASCII in
 * code but not in comments, so a compact bundle is pure ASCII and half the size.
 */
export async function bundleApp(entry: string, outfile: string, options: { splitting?: boolean; compact?: boolean; helpers?: readonly string[] } = {}): Promise<Metafile> {
  const name = basename(outfile, '.mjs');
  const helpers = options.helpers ?? [];
  if (helpers.length > 0 && !options.splitting) throw new Error(`bundling ${entry}: helper entries need splitting (they share chunks with the app)`);
  const result = await build({
    entryPoints: { [name]: join(repoRoot, entry), ...Object.fromEntries(helpers.map((helper) => [basename(helper, '.ts'), join(repoRoot, helper)])) },
    ...(options.splitting ? { outdir: dirname(outfile), splitting: true, chunkNames: `${name}-[name]-[hash]`, outExtension: { '.js': '.mjs' } } : { outfile }),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: options.compact ? EXTERNAL_PACKAGES.filter((name) => !(COMPACT_BUNDLED_PACKAGES as readonly string[]).includes(name)) : [...EXTERNAL_PACKAGES],
    banner: { js: BANNER },
    tsconfig: join(repoRoot, 'tsconfig.base.json'),
    logLevel: 'warning',
    legalComments: 'none',
    ...(options.compact ? { minifyWhitespace: true, minifySyntax: true } : {}),
    metafile: true,
  });
  return result.metafile;
}

/**
 * Files the sources read at runtime relative to their own module (`../proto`, `../crds`): in the
 * bundle that module is lib/<app>.mjs, so they go one level above lib/.
 */
export function copyRuntimeAssets(root: string): void {
  cpSync(join(repoRoot, 'libs', 'edge', 'cri', 'proto'), join(root, 'proto'), { recursive: true });
  cpSync(join(repoRoot, 'libs', 'edge', 'dmi', 'proto'), join(root, 'proto'), { recursive: true });
  cpSync(join(repoRoot, 'libs', 'shared', 'device-api', 'crds'), join(root, 'crds'), { recursive: true });
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
}

export interface CopyOptions {
  /** target CPU (default: this machine's): optional platform packages for another `cpu`/`os` are left out */
  arch?: string;
  /** receives the names of the optional packages left out because they are for another platform */
  skipped?: string[];
}

/** npm's `os`/`cpu` fields ("x64", "!arm", absent = any) allow `value`. */
function allows(list: string[] | undefined, value: string): boolean {
  if (list === undefined || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((v) => !v.startsWith('!'));
  return positive.length === 0 || positive.includes(value);
}

/** Finds `name` the way Node would from `fromDir` (walking up node_modules dirs). */
function locate(name: string, fromDir: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Copies `names` and their (optional) dependencies, flattened, into `targetNodeModules`.
 * Missing optional dependencies (e.g. another platform's prebuild) are skipped, and so are optional
 * ones whose `os`/`cpu` exclude linux/`options.arch` (e.g. @matrixai/quic-linux-x64 for an arm64 tarball).
 */
export function copyPackages(names: readonly string[], targetNodeModules: string, options: CopyOptions = {}): string[] {
  const arch = options.arch ?? process.arch;
  const copied = new Map<string, string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    if (copied.has(name)) return;
    const source = locate(name, fromDir);
    if (source === undefined) {
      if (optional) return;
      throw new Error(`package ${name} not found from ${fromDir}`);
    }
    const real = realpathSync(source);
    const manifest = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8')) as PackageJson;
    if (optional && (!allows(manifest.cpu, arch) || !allows(manifest.os, process.platform))) {
      if (!options.skipped?.includes(name)) options.skipped?.push(name);
      return;
    }
    copied.set(name, real);
    const target = join(targetNodeModules, name);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(real, target, { recursive: true, dereference: true });
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, real, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, real, true);
  };
  for (const name of names) visit(name, repoRoot, name === '@matrixai/quic');
  return [...copied.keys()];
}

/**
 * Drops what a native package's compile left behind and nothing at runtime reads: everything under build/
 * but build/Release/*.node (objects, static archives, makefiles), and better-sqlite3's C sources (deps/,
 * src/). About 30 MB of an unpacked gateway bundle.
 */
export function pruneNativeBuildLeftovers(nodeModules: string): string[] {
  const pruned: string[] = [];
  const packages = readdirSync(nodeModules, { withFileTypes: true }).flatMap((entry) => {
    if (!entry.isDirectory() || entry.name.startsWith('.')) return [];
    const path = join(nodeModules, entry.name);
    return entry.name.startsWith('@') ? readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(path, e.name)) : [path];
  });
  for (const dir of packages) {
    if (!existsSync(join(dir, 'binding.gyp'))) continue;
    const build = join(dir, 'build');
    if (existsSync(build)) {
      for (const entry of readdirSync(build)) {
        if (entry === 'Release') continue;
        rmSync(join(build, entry), { recursive: true, force: true });
        pruned.push(join(build, entry));
      }
      const release = join(build, 'Release');
      if (existsSync(release)) {
        for (const entry of readdirSync(release)) {
          if (entry.endsWith('.node') && entry !== 'test_extension.node') continue;
          rmSync(join(release, entry), { recursive: true, force: true });
          pruned.push(join(release, entry));
        }
      }
    }
    if (basename(dir) === 'better-sqlite3') {
      for (const sources of ['deps', 'src']) {
        rmSync(join(dir, sources), { recursive: true, force: true });
        pruned.push(join(dir, sources));
      }
    }
  }
  return pruned;
}
