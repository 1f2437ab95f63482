// The Node.js settings edgecore runs with on a gateway, written into the launcher (bin/edgecore) of the
// edgecore tarball and of the gateway bundle. Each one is measured by tools/bench/edgecore-memory.ts (RSS
// and CPU, one option at a time) and kept only where it pays; docs/deploy.md "Memory" has the table.
// KEDGE_NODE_OPTIONS replaces the list (empty: Node's defaults); UV_THREADPOOL_SIZE set by the caller wins.

/** The V8/Node flags on edgecore's command line, in the launcher. */
// Not --lite-mode or --jitless, although they save ~2 MB more: they imply --no-expose-wasm, so WebAssembly is not
// defined and Node's own fetch() (undici's llhttp is WebAssembly) crashes the process, e.g. a mapper's HTTP push.
export const EDGECORE_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1', '--no-opt', '--no-sparkplug', '--optimize-for-size', '--v8-pool-size=1'];

/**
 * The node command the launcher ran edgecore with, in edgecore's environment: its start-up helper runs on the same
 * one (apps/edgecore/src/startup-helper.ts), which need not be process.execPath (a qemu wrapper, for one).
 */
export const EDGECORE_NODE_ENV = 'KEDGE_EDGECORE_NODE';

/** libuv's worker threads (fs, dns.lookup, crypto, zlib) unless the environment sets UV_THREADPOOL_SIZE. */
export const EDGECORE_UV_THREADPOOL_SIZE = 4;

/**
 * The launcher lines that run `script` (relative to the unpacked tree `$DIR`) on `nodeCommand` (a shell
 * word, e.g. `"\${NODE:-node}"`) with the gateway settings.
 */
export function edgecoreLaunchLines(nodeCommand: string, script: string): string {
  return [
    '# Node.js settings for a small device, measured in docs/benchmarks.md (edgecore-memory) and explained in',
    '# docs/deploy.md "Memory": KEDGE_NODE_OPTIONS replaces them (set it empty for Node\'s defaults).',
    `DEFAULT_NODE_OPTIONS='${EDGECORE_NODE_OPTIONS.join(' ')}'`,
    `UV_THREADPOOL_SIZE=\${UV_THREADPOOL_SIZE:-${EDGECORE_UV_THREADPOOL_SIZE}}`,
    'export UV_THREADPOOL_SIZE',
    "# edgecore runs its start-up helper (lib/edgecore-helper.mjs) on the same node command (a wrapper, e.g. qemu, included)",
    `${EDGECORE_NODE_ENV}=${nodeCommand}`,
    `export ${EDGECORE_NODE_ENV}`,
    '# shellcheck disable=SC2086 # the options are words',
    `exec "$${EDGECORE_NODE_ENV}" \${KEDGE_NODE_OPTIONS-$DEFAULT_NODE_OPTIONS} "$DIR/${script}" "$@"`,
    '',
  ].join('\n');
}
