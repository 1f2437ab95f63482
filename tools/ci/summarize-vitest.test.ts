// The CI summary against real vitest JSON reports: a real vitest (child process) runs tools/ci/fixtures, then
// summarize-vitest.mjs reads its report. An allowed skip passes; a plain it.skip/skipIf fails the run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../e2e/harness';

const FIXTURES = join(repoRoot, 'tools', 'ci', 'fixtures');
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** this run's VITEST_* and allow list would leak into the child */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'KEDGE_TEST_ALLOW_MISSING'));

async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...cleanEnv, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, output };
}

/** vitest on the fixture files matching `filter`; returns the JSON report's path */
async function report(filter: string, env: Record<string, string>): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'kedge-summary-'));
  dirs.push(dir);
  const file = join(dir, 'vitest.json');
  const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
  await run([vitest, 'run', '--config', join(FIXTURES, 'vitest.config.ts'), '--reporter=json', `--outputFile=${file}`, filter], env);
  return file;
}

const summarize = (reports: string[], env: Record<string, string> = {}) => run([join(repoRoot, 'tools', 'ci', 'summarize-vitest.mjs'), ...reports], env);

describe('ci summary - skipped tests', () => {
  it('ci summary - a skip allowed by KEDGE_TEST_ALLOW_MISSING passes and is listed with its reason', async () => {
    const file = await report('allowed-skip', { PATH: '/nonexistent', KEDGE_TEST_ALLOW_MISSING: 'mosquitto-clients' });
    const summary = await summarize([file], { KEDGE_TEST_ALLOW_MISSING: 'mosquitto-clients' });
    expect(summary.output).toBe(
      'skipped 1 test(s), mosquitto-clients: mosquitto_pub, mosquitto_sub not on PATH (allowed by KEDGE_TEST_ALLOW_MISSING):\n' +
        '  tools/ci/fixtures/allowed-skip.fixture.ts > fixture - needs the mqtt clients\n' +
        '1 passed, 0 failed, 1 skipped\n',
    );
    expect(summary.code).toBe(0);
    // the allow list must hold for the summary too: CI sets none, so such a report fails there
    const strict = await summarize([file]);
    expect(strict.output).toContain('fixture - needs the mqtt clients: requires mosquitto-clients (mosquitto_pub, mosquitto_sub not on PATH)\n1 passed, 1 failed\n');
    expect(strict.code).toBe(1);
  });

  it('ci summary - a plain it.skip or describe.skipIf fails the run, whatever the allow list', async () => {
    const file = await report('plain-skip', {});
    const summary = await summarize([file], { KEDGE_TEST_ALLOW_MISSING: 'all' });
    expect(summary.output).toBe(
      '2 test(s) did not run and nothing allows that (counted as failed; see docs/testing.md):\n' +
        '  tools/ci/fixtures/plain-skip.fixture.ts > fixture - skipped by hand: skipped without requires(): a plain skip/skipIf/todo\n' +
        '  tools/ci/fixtures/plain-skip.fixture.ts > fixture - skipped by a condition > fixture - inside: skipped without requires(): a plain skip/skipIf/todo\n' +
        '0 passed, 2 failed\n',
    );
    expect(summary.code).toBe(1);
  });
});
