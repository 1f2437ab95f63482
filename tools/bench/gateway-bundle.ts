// Benchmark (a script, not a test): the self-contained gateway bundles (tools/package/gateway-bundle.ts).
// Size of each bundle (compressed and unpacked), how long the bundled launchers take to start and exit
// (`bin/kedgeadm version`, `bin/edgecore --print-default-config`; arm64 under qemu-aarch64-static, so that
// column is emulation, not an arm64 board), and for x64 the time from starting the bundled edgecore of a
// joined node to cloudcore logging it connected. Medians of --runs. Writes its section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/gateway-bundle.ts [--runs 5] [--dry-run]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { issueToken, isNodeConnected, startCloudCore } from '../e2e/cluster';
import { KedgeProcess, stopAll } from '../e2e/harness';
import { ARM64_SYSROOT, QEMU_AARCH64 } from '../package/cross-arm64';
import { buildGatewayBundle, type GatewayBundle } from '../package/gateway-bundle';
import type { RuntimeArch } from '../package/node-runtime';
import {
  benchCommand,
  benchTempDir,
  formatBytes,
  machineInfo,
  markdownTable,
  parseBenchFlags,
  percentile,
  positiveInteger,
  progress,
  runBenchmark,
  sectionHeading,
  summaryTitle,
  textTable,
  writeBenchmarkSection,
} from './bench-kit';

const SECTION = 'gateway-bundle';
const flags = parseBenchFlags(import.meta.filename, { runs: { type: 'string', default: '5' } });

const median = (values: number[]): number => percentile([...values].sort((a, b) => a - b), 50);
const ms = (value: number): string => `${Math.round(value)} ms`;

/** wall time of one launcher run to its exit (it must exit 0) */
function timedRun(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const start = performance.now();
  const run = spawnSync(command, args, { env, encoding: 'utf8', timeout: 180_000 });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return performance.now() - start;
}

interface Unpacked {
  bundle: GatewayBundle;
  root: string;
  env: NodeJS.ProcessEnv;
}

function unpack(bundle: GatewayBundle, dir: string): Unpacked {
  mkdirSync(dir);
  if (spawnSync('tar', ['-xzf', bundle.file, '-C', dir]).status !== 0) throw new Error(`cannot extract ${bundle.file}`);
  const root = join(dir, readdirSync(dir)[0]!);
  const env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin' }; // no node on PATH: the bundle brings its own
  if (bundle.arch === 'arm64') {
    const wrapper = join(dir, 'node-arm64');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${QEMU_AARCH64} -L ${ARM64_SYSROOT} "${join(root, 'node', 'bin', 'node')}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    env['KEDGE_NODE'] = wrapper;
  }
  return { bundle, root, env };
}

/** x64: bundled kedgeadm joins (pods off), then bundled edgecore starts; ms from its spawn to "node connected" */
async function connectTimes(x64: Unpacked, runs: number, work: string): Promise<number[]> {
  mkdirSync(join(work, 'cloud'), { recursive: true });
  const cloud = await startCloudCore({ dataDir: join(work, 'cloud') });
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const nodeName = `bench-gw-${i}`;
      const token = await issueToken(cloud, ['--node', nodeName]);
      const prefix = join(work, nodeName);
      const joined = spawnSync(
        join(x64.root, 'bin', 'kedgeadm'),
        ['join', '--cloud', '127.0.0.1', '--https-port', String(cloud.ports.https), '--ws-port', String(cloud.ports.websocket), '--node-name', nodeName, '--token', '-', '--no-pods', '--prefix', prefix, '--data-dir', join(prefix, 'data')],
        { env: x64.env, input: `${token}\n`, encoding: 'utf8' },
      );
      if (joined.status !== 0) throw new Error(`bundled kedgeadm join failed: ${joined.stderr}`);
      const configFile = join(prefix, 'edgecore.yaml');
      const config = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
      writeFileSync(configFile, stringify({ ...config, metrics: { address: '127.0.0.1', port: 0 }, metaServer: { address: '127.0.0.1', port: 0, podAccess: { port: 0 } }, eventBus: { internal: { address: '127.0.0.1', port: 0 } } }));
      const start = performance.now();
      const edge = new KedgeProcess(nodeName, spawn(join(x64.root, 'bin', 'edgecore'), ['--config', configFile], { env: x64.env, stdio: ['ignore', 'pipe', 'pipe'] }));
      await cloud.process.waitForLog(isNodeConnected(nodeName), `${nodeName} connected`, 60_000);
      times.push(performance.now() - start);
      await edge.stop('SIGTERM');
      progress(`${nodeName}: connected ${ms(times.at(-1)!)} after start`);
    }
  } finally {
    await cloud.process.stop('SIGTERM');
    await stopAll();
  }
  return times;
}

async function main(): Promise<void> {
  const runs = positiveInteger('runs', flags.runs);
  const machine = machineInfo();
  const work = benchTempDir('kedge-bench-gateway-');
  const rows: string[][] = [];
  let connect: number[] = [];
  for (const arch of ['x64', 'arm64'] as RuntimeArch[]) {
    progress(`building the linux-${arch} bundle ...`);
    const bundle = await buildGatewayBundle(join(work, 'out'), arch, (line) => progress(line));
    const unpacked = unpack(bundle, join(work, arch));
    const version = Array.from({ length: runs }, () => timedRun(join(unpacked.root, 'bin', 'kedgeadm'), ['version'], unpacked.env));
    const defaults = Array.from({ length: runs }, () => timedRun(join(unpacked.root, 'bin', 'edgecore'), ['--print-default-config'], unpacked.env));
    if (arch === 'x64') connect = await connectTimes(unpacked, runs, join(work, 'connect'));
    rows.push([
      `linux-${arch}${arch === 'arm64' ? ' (qemu)' : ''}`,
      formatBytes(bundle.bytes),
      formatBytes(bundle.unpackedBytes),
      `Node ${bundle.manifest.node.version}`,
      ms(median(version)),
      ms(median(defaults)),
      arch === 'x64' ? ms(median(connect)) : 'n/a',
    ]);
  }
  const headers = ['bundle', '.tar.gz', 'unpacked', 'runtime', '`kedgeadm version`', '`edgecore --print-default-config`', 'edgecore start → connected'];
  process.stdout.write(`${summaryTitle('gateway bundle', machine)}${textTable(headers, rows)}\n`);
  const body = [
    ...sectionHeading('Gateway bundles: size and start-up', machine, benchCommand('gateway-bundle'), [`- Runs: ${runs} per figure (median)`]),
    markdownTable(headers, rows),
    '',
    'Start-up figures are wall time from exec of the bundled launcher (which runs the bundled Node) to exit, or for',
    '"start → connected" to cloudcore logging the node connected (WebSocket, pods off, loopback). The arm64 row runs',
    'under qemu-aarch64-static user emulation on this x86-64 machine; on an arm64 board it is much faster.',
    '',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('gateway-bundle benchmark', main, { shutdown: () => stopAll() });
