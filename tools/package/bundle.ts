// Shared packaging pieces: an esbuild bundle of one app (ESM, node20) with the native and
// runtime-loaded packages left external, and a copy of those packages (plus everything they
// depend on) into a self-contained node_modules next to the bundle.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

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
] as const;

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

export async function bundleApp(entry: string, outfile: string): Promise<void> {
  await build({
    entryPoints: [join(repoRoot, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...EXTERNAL_PACKAGES],
    banner: { js: BANNER },
    tsconfig: join(repoRoot, 'tsconfig.base.json'),
    logLevel: 'warning',
    legalComments: 'none',
  });
}

/**
 * Files the sources read at runtime relative to their own module (`../proto`, `../crds`): in the
 * bundle that module is lib/<app>.mjs, so they go one level above lib/.
 */
export function copyRuntimeAssets(root: string): void {
  cpSync(join(repoRoot, 'libs', 'cri', 'proto'), join(root, 'proto'), { recursive: true });
  cpSync(join(repoRoot, 'libs', 'api', 'crds'), join(root, 'crds'), { recursive: true });
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
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
 * Missing optional dependencies (e.g. another platform's prebuild) are skipped.
 */
export function copyPackages(names: readonly string[], targetNodeModules: string): string[] {
  const copied = new Map<string, string>();
  const visit = (name: string, fromDir: string, optional: boolean): void => {
    if (copied.has(name)) return;
    const source = locate(name, fromDir);
    if (source === undefined) {
      if (optional) return;
      throw new Error(`package ${name} not found from ${fromDir}`);
    }
    const real = realpathSync(source);
    copied.set(name, real);
    const target = join(targetNodeModules, name);
    mkdirSync(dirname(target), { recursive: true });
    cpSync(real, target, { recursive: true, dereference: true });
    const manifest = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8')) as PackageJson;
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, real, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, real, true);
  };
  for (const name of names) visit(name, repoRoot, name === '@matrixai/quic');
  return [...copied.keys()];
}
