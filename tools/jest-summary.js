// Prints the closing line CI reads ("N passed, M failed, K skipped") from jest's --json output,
// and exits non-zero when anything failed or when no test ran at all.
const fs = require('fs');
const file = process.argv[2];
const r = JSON.parse(fs.readFileSync(file, 'utf8'));
const failedSuites = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0);
for (const s of failedSuites) console.log(`suite failed to run: ${s.name}\n${(s.message || '').slice(0, 2000)}`);
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites.length} failed, ${r.numPendingTests} skipped`);
process.exit(r.numFailedTests + failedSuites.length > 0 || r.numPassedTests === 0 ? 1 : 0);
