#!/usr/bin/env bash
# `npm test`: unit + integration tests against real Postgres, Redis, Dovecot and
# SMTP/HTTP peers. Each jest worker clones its own database from a migrated template.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST_TOOLS=1 bash scripts/stack-up.sh
echo "test: typecheck"
npx tsc -p tsconfig.json --noEmit
echo "test: jest"
results=$(mktemp)
set +e
npx jest --ci --json --outputFile="$results" "$@"
code=$?
set -e
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests + r.numRuntimeErrorTestSuites} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
// A skipped test in CI hides a failure: treat it as one.
if (r.numPendingTests + r.numTodoTests > 0) { console.error("test: skipped or todo tests are not allowed"); process.exit(1); }
' "$results" || code=1
rm -f "$results"
exit $code
