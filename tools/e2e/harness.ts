// Starts real cloudcore, edgecore and kedgeadm processes for end-to-end tests, reads their JSON logs,
// and stops them by process id. Every test that starts a process stops it (stopAll in afterEach).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prometheusSample, prometheusSum, waitFor } from '@kedge/testkit';
import { stringify } from 'yaml';

export { prometheusSample as metricValue, prometheusSum as metricSum, waitFor };

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class KedgeProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  private exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.stderr.push(`stdout: ${line}`);
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = new Promise((resolveExit) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolveExit(this.exitCode);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves with the first log line matching `predicate`, polling until the deadline. */
  async waitForLog(predicate: (line: LogLine) => boolean, description: string, timeoutMs = 60_000): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(
      () => {
        found = this.logs.find(predicate);
        if (!found && !this.running) throw new Error(`${this.name} exited before "${description}":\n${this.describe()}`);
        return found !== undefined;
      },
      `${this.name}: ${description}`,
      { timeoutMs, onTimeout: () => this.describe() },
    );
    return found as LogLine;
  }

  describe(): string {
    const tail = this.logs.slice(-30).map((l) => JSON.stringify(l));
    return [`--- ${this.name} (pid ${this.pid}) logs ---`, ...tail, '--- stderr ---', this.stderr.join('').slice(-4000)].join('\n');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running && this.child.pid) process.kill(this.child.pid, signal);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.kill(signal);
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }
}

const started = new Set<KedgeProcess>();

/** Run a workspace app's entry file with tsx; `stdin`, when given, is written to its stdin, which is then closed. */
export function startApp(app: 'cloudcore' | 'edgecore' | 'kedgeadm', args: string[], env: NodeJS.ProcessEnv = {}, stdin?: string): KedgeProcess {
  const entry = join(repoRoot, 'apps', app, 'src', 'main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  const proc = new KedgeProcess(app, child);
  started.add(proc);
  return proc;
}

/** Stop every process the current test started (call in afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((p) => p.stop('SIGKILL')));
  started.clear();
}

/** Run kedgeadm to completion; resolves with its exit code and output. `stdin`, when given, is piped in. */
export async function runKedgeadm(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps', 'kedgeadm', 'src', 'main.ts'), ...args], {
    cwd: repoRoot,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout, stderr };
}


export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kedge-${prefix}-`));
}

export function writeYaml(file: string, value: unknown): string {
  writeFileSync(file, stringify(value));
  return file;
}

export async function fetchMetrics(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return response.text();
}

/** Runs the real kubectl against `target` (a kubeconfig path, or `--server` URL for MetaServer). */
export async function kubectl(
  target: { kubeconfig: string } | { server: string },
  args: string[],
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const prefix = 'kubeconfig' in target ? ['--kubeconfig', target.kubeconfig] : ['--server', target.server];
  const child = spawn('kubectl', [...prefix, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input ?? '');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout, stderr };
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(target: { kubeconfig: string } | { server: string }, args: string[], input?: string): Promise<string> {
  const result = await kubectl(target, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}
