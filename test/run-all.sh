#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: static checks, a build (the
# process-level tests start the built sample app), then every Jest spec.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step 'typecheck (tsc --noEmit)'
npx tsc --noEmit -p tsconfig.json

step 'lint (eslint + prettier)'
npx eslint .
npx prettier --check . >/dev/null

step 'build'
npm run build --silent

step 'brokers (test/brokers/setup.sh)'
bash test/brokers/setup.sh

step 'jest (unit, integration, end-to-end)'
results=$(mktemp)
trap 'rm -f "$results"; bash test/brokers/teardown.sh' EXIT
status=0
node --experimental-vm-modules node_modules/jest/bin/jest.js --ci --json --outputFile="$results" "$@" || status=$?
# One plain closing line, the same whatever the runner prints above it.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$results"
exit "$status"
