// tools/bench/all.sh against a directory of tiny stand-in benchmarks (KEDGE_BENCH_DIR): what it
// discovers, that it keeps going after a failure and says which failed, and --only / --skip / --list.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const allScript = resolve(import.meta.dirname, 'all.sh');

/** A stand-in benchmark: records that it ran, prints a line, exits with `exitCode`. */
function standIn(dir: string, name: string, exitCode: number): void {
  writeFileSync(
    join(dir, `${name}.ts`),
    [
      `import { appendFileSync } from 'node:fs';`,
      `const runBenchmark = (label: string, main: () => void): void => main();`,
      `runBenchmark('${name}', () => {`,
      `  appendFileSync(${JSON.stringify(join(dir, 'ran.txt'))}, '${name}\\n');`,
      `  console.log('${name} says hello');`,
      `  process.exit(${exitCode});`,
      `});`,
      '',
    ].join('\n'),
  );
}

describe('bench all.sh', () => {
  let dir: string;
  let logs: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kedge-bench-all-'));
    logs = join(dir, 'logs');
    standIn(dir, 'alpha', 0);
    standIn(dir, 'broken', 3);
    standIn(dir, 'gamma', 0);
    // not benchmarks: a kit, a test and a child-process helper that never calls runBenchmark(
    writeFileSync(join(dir, 'some-kit.ts'), 'export function runBenchmark(): void {}\n');
    writeFileSync(join(dir, 'gamma.test.ts'), "runBenchmark('nope');\n");
    writeFileSync(join(dir, 'dialer-child.ts'), "process.exit(9);\n");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function run(...args: string[]) {
    const result = spawnSync('bash', [allScript, '--logs', logs, ...args], {
      env: { ...process.env, KEDGE_BENCH_DIR: dir },
      encoding: 'utf8',
      timeout: 90_000,
    });
    const ran = (() => {
      try {
        return readFileSync(join(dir, 'ran.txt'), 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    })();
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, ran };
  }

  it('bench all.sh - lists only the scripts that call runBenchmark, in name order', () => {
    const { status, stdout } = run('--list');
    expect(status).toBe(0);
    expect(stdout.trim().split('\n')).toEqual(['alpha', 'broken', 'gamma']);
  });

  it('bench all.sh - runs every benchmark after a failing one, then exits 1 naming the failed', () => {
    const { status, stderr, stdout, ran } = run();
    expect(ran).toEqual(['alpha', 'broken', 'gamma']);
    expect(status).toBe(1);
    expect(stderr).toMatch(/\(2\/3\) broken: FAILED with exit status 3/);
    expect(stderr).toMatch(/\(3\/3\) gamma: ok in \d+ s/);
    expect(stderr).toMatch(/failed: broken$/m);
    expect(stderr).toMatch(/\(1\/3\) alpha: starting, load average \d/);
    expect(stdout).toContain('gamma says hello');
    expect(readFileSync(join(logs, 'broken.log'), 'utf8')).toContain('broken says hello');
  });

  it('bench all.sh - --only and --skip choose what runs; all passing exits 0', () => {
    const only = run('--only', 'gamma,alpha');
    expect(only.status).toBe(0);
    expect(only.ran).toEqual(['alpha', 'gamma']);
    rmSync(join(dir, 'ran.txt'));
    const skipped = run('--skip', 'broken');
    expect(skipped.status).toBe(0);
    expect(skipped.ran).toEqual(['alpha', 'gamma']);
  });

  it('bench all.sh - an unknown name or argument is a usage error and nothing runs', () => {
    const unknown = run('--skip', 'alpha,typo');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("--skip: no benchmark named 'typo'");
    const bogus = run('--fast');
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toContain("unknown argument '--fast'");
    expect(unknown.ran).toEqual([]);
    expect(bogus.ran).toEqual([]);
  });

  it('bench all.sh - what a benchmark killed outright leaves running is stopped', () => {
    const pidFile = join(dir, 'orphan.pid');
    writeFileSync(
      join(dir, 'killed.ts'),
      [
        `import { spawn } from 'node:child_process';`,
        `import { writeFileSync } from 'node:fs';`,
        `const runBenchmark = (label: string, main: () => void): void => main();`,
        `runBenchmark('killed', () => {`,
        `  const child = spawn('sleep', ['300'], { stdio: 'ignore' });`,
        `  writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));`,
        `  process.kill(process.pid, 'SIGKILL');`,
        `});`,
        '',
      ].join('\n'),
    );
    const { status, stderr } = run('--only', 'killed');
    expect(status).toBe(1);
    expect(stderr).toMatch(/killed: FAILED with exit status 137/);
    expect(stderr).toMatch(/killed left processes running in its group \d+: stopping them/);
    const orphan = Number(readFileSync(pidFile, 'utf8'));
    expect(() => process.kill(orphan, 0)).toThrow(/ESRCH/);
  });
});
