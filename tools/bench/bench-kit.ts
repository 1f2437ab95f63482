// Shared pieces for the benchmark scripts in tools/bench: flag parsing, the run/exit/SIGINT wrapper that
// stops what a script started and removes its temporary directories, a bounded-window message driver
// with latency recording, percentiles, machine facts, progress lines, tables, node certificates, a
// cloudcore child process, and the writer that replaces one marked section of docs/benchmarks.md.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { stringify } from 'yaml';
import { createNodeKeyAndCsr, signNodeCsr, type CertificateAuthority } from '@kedge/pki';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
/** docs/benchmarks.md, where every script writes its own section */
export const benchmarksFile = join(repoRoot, 'docs', 'benchmarks.md');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// flags, the command line for the report, and running a script

type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * The usage lines from the top of a script: the comment line that starts with `node --import tsx` and
 * the indented comment lines after it, without the comment marks.
 */
export function headerUsage(scriptFile: string): string {
  const usage: string[] = [];
  for (const line of readFileSync(scriptFile, 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    const text = line.replace(/^\/\/ ?/, '');
    if (usage.length === 0 ? /^\s*node --import tsx /.test(text) : /^\s+\S/.test(text)) usage.push(text);
    else if (usage.length > 0) break;
  }
  const indent = Math.min(...usage.map((text) => /^\s*/.exec(text)![0].length));
  return usage.map((text) => text.slice(indent)).join('\n');
}

/**
 * Parses a script's flags (strict, plus `--dry-run` and `--help`). `--help` prints the usage lines from
 * the top of `scriptFile` (pass `import.meta.filename`) and exits.
 */
export function parseBenchFlags<O extends FlagOptions>(scriptFile: string, options: O) {
  const { values } = parseArgs({
    options: { ...options, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } as const,
    strict: true,
  });
  if ((values as { help?: boolean }).help) {
    process.stdout.write(`${headerUsage(scriptFile)}\n`);
    process.exit(0);
  }
  return values;
}

/** A flag's value as a whole number of at least 1 (at least 0 with `allowZero`). */
export function positiveInteger(name: string, text: string | undefined, allowZero = false): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(`--${name} ${String(text)}: expected a ${allowZero ? 'non-negative' : 'positive'} integer`);
  }
  return value;
}

/** How this run was started, for the report: `node --import tsx tools/bench/<script>.ts <flags>`. */
export function benchCommand(script: string): string {
  return [`node --import tsx tools/bench/${script}.ts`, ...process.argv.slice(2)].join(' ');
}

const tempDirs = new Set<string>();

/** A fresh directory under the system temp dir, removed when the run ends (or by `removeTempDir`). */
export function benchTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Removes every directory from benchTempDir that is still there. */
export function removeTempDirs(): void {
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

const describeError = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

/**
 * Runs a script's `main` and exits: 0 when it resolves; 1 with `<name> failed: <error>` (and `failureDetail()`)
 * on stderr when it rejects; 130 on SIGINT/SIGTERM. `shutdown` (stop what the script started) runs after
 * `main` either way and on a signal (announced as `<signal>: <stopping>`); temporary directories from
 * benchTempDir are removed after it.
 */
export function runBenchmark(
  name: string,
  main: () => Promise<void>,
  options: { shutdown?: () => Promise<void>; stopping?: string; failureDetail?: () => string } = {},
): void {
  // temporary directories go only once what ran in them has stopped
  const shutdown = async (): Promise<void> => {
    await options.shutdown?.();
    removeTempDirs();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (options.stopping) progress(`${signal}: ${options.stopping}`);
      void shutdown().finally(() => process.exit(130));
    });
  }
  main()
    .finally(() => shutdown())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name} failed: ${describeError(error)}\n${options.failureDetail?.() ?? ''}`);
        process.exit(1);
      },
    );
}

/**
 * The report's heading lines: `## <title>`, then date, machine, any `extra` bullets and the command.
 */
export function sectionHeading(title: string, machine: MachineInfo, command: string, extra: readonly string[] = []): string[] {
  // a script that writes its own load line keeps it; every other section gets this one
  const ownLoadLine = extra.some((line) => line.startsWith('- Load average'));
  return [
    `## ${title}`,
    '',
    `- Date: ${machine.date}`,
    `- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.platform}, Node ${machine.node}`,
    ...(ownLoadLine ? [] : [loadAverageLine(machine)]),
    ...extra,
    `- Command: \`${command}\``,
    '',
  ];
}

/** The report line with the load when the script started: other work on the machine competes for its cores. */
export const loadAverageLine = (machine: MachineInfo): string =>
  `- Load average when it started: ${formatLoadAverage(machine.loadAverage)} (1, 5, 15 min; other work on the machine competes for the cores)`;

export const formatLoadAverage = (load: readonly number[]): string => load.map((value) => value.toFixed(2)).join(', ');

/** `<cpu> (<n> cores), Node <version>`, for the first progress line. */
export const describeMachine = (machine: MachineInfo): string => `${machine.cpu} (${machine.cores} cores), Node ${machine.node}`;

/** The line above a script's terminal summary tables. */
export const summaryTitle = (name: string, machine: MachineInfo): string => `\n${name} summary (${machine.cpu}, ${machine.cores} cores, Node ${machine.node})\n\n`;

/**
 * cloudcore settings for a benchmark on 127.0.0.1: WebSocket and HTTPS hub listeners and metrics on free
 * ports, no QUIC, log level info. `cloudHub` adds to or replaces hub settings, `rest` top-level ones.
 */
export function loopbackCloudCoreConfig(cloudHub: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): Record<string, unknown> {
  const listener = () => ({ enable: true, address: '127.0.0.1', port: 0 });
  return {
    cloudHub: {
      advertiseAddresses: ['127.0.0.1'],
      websocket: listener(),
      quic: { enable: false },
      https: listener(),
      // every simulated edge dials from 127.0.0.1: the per-IP limits meant for one host would refuse the swarm
      connectionLimits: { maxConnectionsPerIp: 1_000_000, newConnectionsPerIpPerSecond: 1_000_000, newConnectionsBurstPerIp: 1_000_000 },
      ...cloudHub,
    },
    metrics: listener(),
    log: { level: 'info' },
    ...rest,
  };
}

/** Writes the script's section of docs/benchmarks.md, or only says so under --dry-run. */
export function writeBenchmarkSection(section: string, body: string, dryRun: boolean | undefined): void {
  if (dryRun) {
    progress('dry run: docs/benchmarks.md not written');
  } else {
    writeMarkdownSection(benchmarksFile, section, body);
    progress(`wrote the ${section} section of ${benchmarksFile}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// measuring

/** Value at percentile `p` (0..100) of ascending `sorted`, nearest-rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarizeLatencies(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

export interface StreamResult extends LatencySummary {
  /** wall time from the first send to the last delivery */
  seconds: number;
  perSecond: number;
}

/**
 * Drives `total` messages through a pipe with at most `window` sent but not yet delivered. The
 * receiving end calls `delivered(sentAt)` with the `performance.now()` the sender put in the message;
 * both ends must run in this process so the clocks agree.
 */
export class WindowedStream {
  private readonly latencies: Float64Array;
  private received = 0;
  private sent = 0;
  private wake: (() => void) | undefined;
  private lastDeliveryAt = 0;
  private failure: Error | undefined;

  constructor(
    readonly total: number,
    readonly window: number,
    /** give up when nothing is delivered for this long */
    private readonly stallTimeoutMs = 30_000,
  ) {
    this.latencies = new Float64Array(total);
  }

  /** Called by the receiving end for every message, with the sender's performance.now(). */
  delivered(sentAt: number): void {
    const now = performance.now();
    if (this.received < this.total) this.latencies[this.received] = now - sentAt;
    this.received += 1;
    this.lastDeliveryAt = now;
    this.wake?.();
  }

  /** Called by the sender when a send failed; the run rejects with it. */
  fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.wake?.();
  }

  async run(send: (seq: number) => void): Promise<StreamResult> {
    const startedAt = performance.now();
    this.lastDeliveryAt = startedAt;
    while (this.received < this.total) {
      if (this.failure) throw this.failure;
      if (this.sent < this.total && this.sent - this.received < this.window) {
        send(this.sent);
        this.sent += 1;
        continue;
      }
      await this.nextEvent();
    }
    if (this.failure) throw this.failure;
    const seconds = (this.lastDeliveryAt - startedAt) / 1000;
    return { ...summarizeLatencies(this.latencies), seconds, perSecond: this.total / seconds };
  }

  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new Error(`stalled: ${this.received}/${this.total} delivered, nothing for ${this.stallTimeoutMs} ms`));
      }, this.stallTimeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}

export interface MachineInfo {
  date: string;
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  /** os.loadavg() when this was taken (1, 5 and 15 minutes) */
  loadAverage: [number, number, number];
}

/** The machine and its load now; scripts take it first thing, so the load is the one they started under. */
export function machineInfo(): MachineInfo {
  const list = cpus();
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadAverage: [one, five, fifteen],
  };
}

const benchStartedAt = performance.now();

/** A progress line on stderr with the seconds since the script started. */
export function progress(message: string): void {
  const elapsed = ((performance.now() - benchStartedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${elapsed}s] ${message}\n`);
}

/** Runs `task` over `items` with at most `limit` running at once; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) results[index] = await task(items[index] as T, index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A node's TLS material: a key and a certificate for `nodeName` signed by `ca` (one day), with the CA. */
export async function nodeTlsMaterial(ca: CertificateAuthority, nodeName: string): Promise<{ cert: string; key: string; ca: string }> {
  const { keyPem, csrPem } = await createNodeKeyAndCsr(nodeName);
  return { cert: await signNodeCsr(ca, csrPem, { nodeName, validityDays: 1 }), key: keyPem, ca: ca.certPem };
}

/** Resident set size of a Linux process in bytes, from /proc/<pid>/status (VmRSS). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Plain-text table for the terminal. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export function formatInteger(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const abs = Math.abs(bytes);
  if (abs >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (abs >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes.toFixed(0)} B`;
}

export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a';
}

const DEFAULT_INTRO = `# Benchmarks

Measured figures for kedge, each section written by the script named in it. Re-run a script to
replace its section; the other sections are left as they are. Figures depend on the machine: compare
runs from the same machine, and read the ratios against the raw baselines more than the absolutes.
`;

/**
 * Replaces the text between `<!-- <name>:start -->` and `<!-- <name>:end -->` in `file` with `body`;
 * appends the marked section when the markers are missing, and creates the file (with a short intro)
 * when it does not exist.
 */
export function writeMarkdownSection(file: string, name: string, body: string, intro = DEFAULT_INTRO): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : `${intro.trim()}\n`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  let next: string;
  if (from >= 0 && to > from) {
    next = current.slice(0, from) + section + current.slice(to + end.length);
  } else if (from >= 0 || to >= 0) {
    throw new Error(`${file}: only one of the markers ${start} / ${end} is present (or they are out of order); fix the file by hand`);
  } else {
    next = `${current.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(file, next);
}

/** A cloudcore running as a child process (`apps/cloudcore/src/main.ts` under tsx). */
export interface CloudCoreProcess {
  pid: number;
  dataDir: string;
  /** ports from the "cloudcore ready" log line (undefined for a disabled listener) */
  ports: { websocket?: number; quic?: number; https?: number; metrics?: number };
  /** admin kubeconfig of the embedded API server, when it runs one */
  kubeconfig: string | undefined;
  exited: Promise<void>;
  /** the last few KB of its stderr, for error messages */
  recentStderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited */
  stop(graceMs?: number): Promise<void>;
}

const liveCloudCores = new Set<CloudCoreProcess>();

/**
 * Starts cloudcore as a child process with `config` (written as YAML to `<dataDir>/cloudcore.yaml`,
 * `dataDir` filled in) and resolves once it logs "cloudcore ready". The child is SIGKILLed if this
 * process exits without stopping it; `stopAllCloudCores` stops the live ones (for SIGINT handlers).
 */
export async function startCloudCoreProcess(options: {
  repoRoot: string;
  dataDir: string;
  config: Record<string, unknown>;
  readyTimeoutMs?: number;
  /** Node.js flags for the child (e.g. `--cpu-prof`, which NODE_OPTIONS does not take) */
  nodeArgs?: readonly string[];
}): Promise<CloudCoreProcess> {
  const configFile = join(options.dataDir, 'cloudcore.yaml');
  writeFileSync(configFile, stringify({ ...options.config, dataDir: options.dataDir }));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', join(options.repoRoot, 'apps', 'cloudcore', 'src', 'main.ts'), '--config', configFile], {
    cwd: options.repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('cloudcore did not start');
  const pid = child.pid;
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const killOnExit = (): void => {
    if (alive()) process.kill(pid, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolveExit) =>
    child.once('exit', () => {
      process.off('exit', killOnExit);
      resolveExit();
    }),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const handle: CloudCoreProcess = {
    pid,
    dataDir: options.dataDir,
    ports: {},
    kubeconfig: undefined,
    exited,
    recentStderr: () => stderr,
    async stop(graceMs = 10_000) {
      if (alive()) {
        process.kill(pid, 'SIGTERM');
        const killer = setTimeout(() => {
          if (alive()) process.kill(pid, 'SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(killer);
      }
      liveCloudCores.delete(handle);
    },
  };
  liveCloudCores.add(handle);
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  try {
    await new Promise<void>((resolveReady, rejectReady) => {
      let buffer = '';
      const timer = setTimeout(() => rejectReady(new Error(`cloudcore not ready within ${readyTimeoutMs} ms:\n${stderr}`)), readyTimeoutMs);
      const onData = (chunk: Buffer): void => {
        buffer += chunk.toString();
        for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          let parsed: { msg?: string; ports?: CloudCoreProcess['ports']; kubeconfig?: string };
          try {
            parsed = JSON.parse(line) as typeof parsed;
          } catch {
            continue; // not a log line
          }
          if (parsed.msg === 'cloudcore ready' && parsed.ports) {
            handle.ports = parsed.ports;
            handle.kubeconfig = parsed.kubeconfig;
            // keep draining stdout without holding on to it
            child.stdout?.off('data', onData);
            child.stdout?.resume();
            clearTimeout(timer);
            resolveReady();
            return;
          }
        }
      };
      child.stdout?.on('data', onData);
      void exited.then(() => {
        clearTimeout(timer);
        rejectReady(new Error(`cloudcore exited before it was ready:\n${stderr}`));
      });
    });
  } catch (error) {
    await handle.stop(2_000);
    throw error;
  }
  return handle;
}

/** Stops every cloudcore child started by startCloudCoreProcess that is still running. */
export async function stopAllCloudCores(graceMs = 5_000): Promise<void> {
  await Promise.all([...liveCloudCores].map((cloud) => cloud.stop(graceMs)));
}
