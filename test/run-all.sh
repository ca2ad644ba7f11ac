#!/usr/bin/env bash
# What `npm test` runs: setup, then every vitest project (unit, integration,
# e2e), then one closing line "N passed, N failed[, N skipped]".
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -uo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "npm test must run as root: the tests start programs as the users myproxy, causer and caparse" >&2
  exit 77
fi
cd "$(dirname "$0")/.."

bash test/setup.sh || exit $?
echo "test: type-checking test/ (tsc -p test/tsconfig.json)"
npx tsc -p test/tsconfig.json || exit $?

report=$(mktemp /tmp/etoken-ca-vitest.XXXXXX)
trap 'rm -f "$report"' EXIT

npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
vitest_status=$?

# A file whose setup failed counts as a failure even when none of its tests ran.
node - "$report" "$vitest_status" <<'EOF'
const [file, status] = process.argv.slice(2);
let r;
try {
  r = JSON.parse(require('fs').readFileSync(file, 'utf8'));
} catch {
  console.error('vitest wrote no report');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const brokenFiles = r.testResults.filter(
  (f) => f.status === 'failed' && !f.assertionResults.some((a) => a.status === 'failed'),
).length;
const passed = r.numPassedTests;
const failed = r.numFailedTests + brokenFiles;
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (passed + failed === 0) console.error('no test ran');
process.exit(failed > 0 || passed === 0 || status !== '0' ? 1 : 0);
EOF
