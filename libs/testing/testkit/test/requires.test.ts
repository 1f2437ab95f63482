// requires() end to end: a real vitest, in a child process, runs test/fixtures/requirements/*.fixture.ts,
// whose tests need mosquitto-clients. Emptying the child's PATH makes that component really missing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedMissing, COMPONENTS, missingComponents, UnknownComponentError } from '../src/index';

const FIXTURES = fileURLToPath(new URL('./fixtures/requirements/', import.meta.url));
const VITEST_CLI = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

interface TestResult {
  fullName: string;
  status: string;
  failureMessages: string[];
  meta: { kedgeMissing?: { component: string; reason: string; allowance: string }[] };
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Runs the fixtures under a fresh vitest; returns its exit code, output and the JSON report's tests by name. */
async function runFixtures(env: { PATH: string; KEDGE_TEST_ALLOW_MISSING?: string }): Promise<{ code: number | null; output: string; tests: Map<string, TestResult> }> {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-requires-'));
  dirs.push(dir);
  const report = join(dir, 'report.json');
  // only what a shell would pass on; VITEST_* of this run would confuse the child
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'KEDGE_TEST_ALLOW_MISSING'));
  const child = spawn(
    process.execPath,
    [VITEST_CLI, 'run', '--config', join(FIXTURES, 'vitest.config.ts'), '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
    { env: { ...childEnv, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const parsed = JSON.parse(readFileSync(report, 'utf8')) as { testResults: { assertionResults: TestResult[] }[] };
  const tests = new Map(parsed.testResults.flatMap((file) => file.assertionResults).map((test) => [test.fullName, test]));
  return { code, output, tests };
}

describe('requires - a component in a real vitest run', () => {
  it('requires - present: the suite and the single test run', async () => {
    const run = await runFixtures({ PATH: process.env['PATH'] ?? '' });
    expect(run.code, run.output).toBe(0);
    expect([...run.tests.values()].map((t) => [t.fullName, t.status])).toEqual([
      ['fixture - clients suite fixture - a test in the suite runs', 'passed'],
      ['fixture - a single test runs', 'passed'],
      ['fixture - a test without requirements runs', 'passed'],
    ]);
  });

  it('requires - missing and required (the default): fails naming the component, why and what to install', async () => {
    const run = await runFixtures({ PATH: '/nonexistent' });
    expect(run.code).toBe(1);
    const suite = run.tests.get('fixture - clients suite - requires mosquitto-clients');
    expect(suite?.status).toBe('failed');
    expect(suite?.failureMessages[0]).toMatch(/^MissingComponentError: "fixture - clients suite" requires mosquitto-clients, missing on this machine:\n/);
    expect(suite?.failureMessages[0]).toContain(
      '  mosquitto-clients: mosquitto_pub, mosquitto_sub not on PATH; install: bash tools/install-system-deps.sh (Debian package mosquitto-clients)\n' +
        'Install everything with bash tools/install-system-deps.sh, or skip these tests explicitly with KEDGE_TEST_ALLOW_MISSING=mosquitto-clients',
    );
    // the suite's own tests do not run, and say they were required
    const inSuite = run.tests.get('fixture - clients suite fixture - a test in the suite runs');
    expect(inSuite?.status).toBe('skipped');
    expect(inSuite?.meta.kedgeMissing).toEqual([expect.objectContaining({ component: 'mosquitto-clients', allowance: 'required' })]);
    const single = run.tests.get('fixture - a single test runs');
    expect(single?.status).toBe('failed');
    expect(single?.failureMessages[0]).toMatch(/^MissingComponentError: "fixture - a single test runs" requires mosquitto-clients/);
    expect(run.tests.get('fixture - a test without requirements runs')?.status).toBe('passed');
  });

  it('requires - missing and allowed: skips with the reason in the meta and on stderr', async () => {
    for (const allow of ['qemu-arm64,mosquitto-clients', 'all']) {
      const run = await runFixtures({ PATH: '/nonexistent', KEDGE_TEST_ALLOW_MISSING: allow });
      expect(run.code, run.output).toBe(0);
      for (const name of ['fixture - clients suite fixture - a test in the suite runs', 'fixture - a single test runs']) {
        const test = run.tests.get(name);
        expect(test?.status).toBe('skipped');
        expect(test?.meta.kedgeMissing).toEqual([
          { component: 'mosquitto-clients', reason: 'mosquitto_pub, mosquitto_sub not on PATH', install: expect.stringContaining('mosquitto-clients'), allowance: 'opted-out' },
        ]);
      }
      expect(run.output).toContain('[kedge tests] skipping the tests that require mosquitto-clients: mosquitto_pub, mosquitto_sub not on PATH (allowed by KEDGE_TEST_ALLOW_MISSING)');
    }
  });
});

describe('requires - the allow list', () => {
  it('allow list - names components, all means every one, a misspelt name is an error naming it', () => {
    expect([...allowedMissing({ KEDGE_TEST_ALLOW_MISSING: ' containerd, qemu-arm64 ' })]).toEqual(['containerd', 'qemu-arm64']);
    expect(allowedMissing({})).toEqual(new Set());
    expect(allowedMissing({ KEDGE_TEST_ALLOW_MISSING: 'all' })).toEqual(new Set(COMPONENTS));
    const error = (() => {
      try {
        allowedMissing({ KEDGE_TEST_ALLOW_MISSING: 'containerd,qemu' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UnknownComponentError);
    expect(error).toMatchObject({ variable: 'KEDGE_TEST_ALLOW_MISSING', component: 'qemu' });
  });

  it('machine kind - a component this kind cannot have is never required, whatever the allow list says', async () => {
    expect(await missingComponents(['cross-arm64', 'qemu-arm64'], new Set(), 'linux-arm64')).toEqual([
      { component: 'cross-arm64', reason: 'not available on linux-arm64 (only linux-x64)', install: expect.any(String), allowance: 'not-on-this-platform', platforms: ['linux-x64'] },
      { component: 'qemu-arm64', reason: 'not available on linux-arm64 (only linux-x64)', install: expect.any(String), allowance: 'not-on-this-platform', platforms: ['linux-x64'] },
    ]);
    expect(await missingComponents(['quic'], new Set(), 'linux-arm64')).toEqual([expect.objectContaining({ component: 'quic', allowance: 'not-on-this-platform' })]);
  });
});
