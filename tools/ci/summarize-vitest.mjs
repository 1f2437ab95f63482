// Adds up vitest's JSON reports (one per project) into the single line CI reads: "N passed, N failed[, N skipped]".
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const reports = [];
// projects live at apps/<name> and libs/<scope>/<name>
const projectDirs = readdirSync(join(root, 'apps')).map((name) => join(root, 'apps', name));
for (const scope of readdirSync(join(root, 'libs'))) {
  for (const name of readdirSync(join(root, 'libs', scope))) projectDirs.push(join(root, 'libs', scope, name));
}
for (const dir of projectDirs) reports.push(join(dir, 'reports', 'vitest.json'));
reports.push(join(root, 'tools', 'reports', 'vitest.json'));

let passed = 0;
let failed = 0;
let skipped = 0;
let found = 0;
for (const file of reports.filter((f) => existsSync(f))) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  found += 1;
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // a suite that failed to load counts no tests but must still fail the run
  if (report.success === false && (report.numFailedTests ?? 0) === 0) failed += 1;
}
if (found === 0) {
  console.log('0 passed, 1 failed');
  console.error('no vitest report was written: the test targets did not run');
  process.exit(1);
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
