// Adds up the vitest JSON reports of every workspace and prints the closing line CI reads.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = JSON.parse(readFileSync('package.json', 'utf8'));
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
for (const ws of root.workspaces) {
  const pkg = JSON.parse(readFileSync(join(ws, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  const report = join(ws, 'test-results', 'vitest.json');
  if (!existsSync(report)) {
    missing.push(ws);
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  // A file that fails outside a test (a hook timeout, an import error) fails no test but fails the run: count it.
  failed += r.numFailedTests > 0 ? r.numFailedTests : r.success ? 0 : Math.max(1, r.numFailedTestSuites);
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
if (missing.length) console.error(`no test report from: ${missing.join(', ')} (its test run did not finish)`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing.length > 0 || passed === 0 ? 1 : 0);
