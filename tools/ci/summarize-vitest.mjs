// Adds up vitest's JSON reports (one per project) into the single line CI reads: "N passed, N failed[, N skipped]",
// after listing every test that did not run and why.
//
// A skipped test counts as skipped only when @kedge/testkit's requires() skipped it for a component that is
// missing AND may be missing: named in KEDGE_TEST_ALLOW_MISSING (or =all) when this summary runs, or one this
// machine kind cannot have. Any other test that did not run (a plain it.skip/skipIf/todo, a required component
// that was missing, a test left out because its suite's beforeAll failed) counts as FAILED: tests cannot go quiet.
//
// Usage: node tools/ci/summarize-vitest.mjs [report.json ...]   (default: every project's reports/vitest.json)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// The contract with libs/testing/testkit/src/requirements (this script runs under plain node, without TypeScript).
const ALLOW_MISSING_ENV = 'KEDGE_TEST_ALLOW_MISSING';
const MISSING_META_KEY = 'kedgeMissing';

const root = new URL('../..', import.meta.url).pathname;

function defaultReports() {
  // projects live at apps/<name> and libs/<scope>/<name>
  const projectDirs = readdirSync(join(root, 'apps')).map((name) => join(root, 'apps', name));
  for (const scope of readdirSync(join(root, 'libs'))) {
    for (const name of readdirSync(join(root, 'libs', scope))) projectDirs.push(join(root, 'libs', scope, name));
  }
  return [...projectDirs.map((dir) => join(dir, 'reports', 'vitest.json')), join(root, 'tools', 'reports', 'vitest.json')];
}

const allowed = new Set(
  (process.env[ALLOW_MISSING_ENV] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== ''),
);
const machineKind = `${process.platform}-${process.arch}`;

/** Why this missing component may leave its test skipped, or undefined when it may not. */
function allowance(missing) {
  if (missing.allowance === 'not-on-this-platform' && Array.isArray(missing.platforms) && !missing.platforms.includes(machineKind)) {
    return `${machineKind} cannot have it`;
  }
  if (missing.allowance === 'opted-out' && (allowed.has('all') || allowed.has(missing.component))) return `allowed by ${ALLOW_MISSING_ENV}`;
  return undefined;
}

const reports = process.argv.length > 2 ? process.argv.slice(2) : defaultReports();
let passed = 0;
let failed = 0;
let skipped = 0;
let found = 0;
/** reason -> test names, for the allowed skips */
const allowedSkips = new Map();
/** test name -> why its skip is not allowed */
const refusedSkips = [];

for (const file of reports.filter((f) => existsSync(f))) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  found += 1;
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  // a suite that failed to load counts no tests but must still fail the run
  if (report.success === false && (report.numFailedTests ?? 0) === 0) failed += 1;
  for (const testFile of report.testResults ?? []) {
    for (const test of testFile.assertionResults ?? []) {
      if (test.status === 'passed' || test.status === 'failed') continue;
      const name = [relative(root, testFile.name), ...(test.ancestorTitles ?? []), test.title].join(' > ');
      const missing = test.meta?.[MISSING_META_KEY];
      if (!Array.isArray(missing) || missing.length === 0) {
        const why = testFile.status === 'failed' ? 'did not run: its suite failed (see the error above)' : `${test.status} without requires(): a plain skip/skipIf/todo`;
        refusedSkips.push(`${name}: ${why}`);
        continue;
      }
      const refused = missing.filter((m) => allowance(m) === undefined);
      if (refused.length > 0) {
        refusedSkips.push(`${name}: requires ${refused.map((m) => `${m.component} (${m.reason})`).join(', ')}`);
        continue;
      }
      skipped += 1;
      const reason = missing.map((m) => `${m.component}: ${m.reason} (${allowance(m)})`).join('; ');
      allowedSkips.set(reason, [...(allowedSkips.get(reason) ?? []), name]);
    }
  }
}
if (found === 0) {
  console.log('0 passed, 1 failed');
  console.error('no vitest report was written: the test targets did not run');
  process.exit(1);
}
for (const [reason, names] of allowedSkips) {
  console.log(`skipped ${names.length} test(s), ${reason}:`);
  for (const name of names) console.log(`  ${name}`);
}
if (refusedSkips.length > 0) {
  console.log(`${refusedSkips.length} test(s) did not run and nothing allows that (counted as failed; see docs/testing.md):`);
  for (const line of refusedSkips) console.log(`  ${line}`);
  failed += refusedSkips.length;
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
