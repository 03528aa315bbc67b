#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: static checks, a build (the
# process-level tests start the built sample app), the brokers, then every
# Jest spec once per supported Node.js: the default (24 LTS, which the
# project's scripts run on), the oldest supported (22.14) and 26. Each run
# prints its own line; the last line sums them. A failed run fails the command.
#   TEST_NODE="24 26" npm test       only those versions (default: "24 22 26")
#   npm test -- test/fedmsg          arguments go to Jest (a path filter, say)
set -euo pipefail
cd "$(dirname "$0")/.."

# The static steps, the build and anything run as `node` use the default pinned Node.js (24 LTS),
# whichever node npm's PATH would find first.
PATH="$(dirname "$(scripts/node-bin.sh)"):$PATH"

step() { printf '\n== %s\n' "$*"; }
seconds() { date +%s; }

step "typecheck (tsc --noEmit, on Node.js $(node --version))"
npx tsc --noEmit -p tsconfig.json

step 'lint (eslint + prettier)'
npx eslint .
npx prettier --check . >/dev/null

step 'build'
npm run build --silent

step 'brokers (test/brokers/setup.sh)'
bash test/brokers/setup.sh

results=$(mktemp -d)
trap 'rm -rf "$results"; bash test/brokers/teardown.sh' EXIT
status=0
summary=()
for version in ${TEST_NODE:-24 22 26}; do
  bin=$(scripts/node-bin.sh "$version")
  label="Node.js $("$bin" --version)"
  step "jest on $label (unit, integration, end-to-end)"
  started=$(seconds)
  run_status=0
  # The spawned apps and CLIs use process.execPath, and anything run as `node` finds this one first.
  PATH="$(dirname "$bin"):$PATH" "$bin" --experimental-vm-modules node_modules/jest/bin/jest.js \
    --ci --json --outputFile="$results/$version.json" "$@" || run_status=$?
  took=$(($(seconds) - started))
  echo "$run_status" >"$results/$version.status"
  line=$(node -e '
    const fs = require("fs");
    const [file, code, took] = process.argv.slice(1);
    if (!fs.existsSync(file)) { console.log(`no results: Jest exited with status ${code} (${took} s)`); process.exit(); }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numFailedTestSuites} suites failed (${took} s)`);
  ' "$results/$version.json" "$run_status" "$took")
  summary+=("$label: $line")
  [[ $run_status -eq 0 ]] || status=1
done

step 'summary'
printf '%s\n' "${summary[@]}"
# One plain closing line, summed over the runs. A run that failed without a
# failed test (a crash, a suite that did not load) counts as at least one failure.
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0;
  for (const version of process.argv.slice(2)) {
    const file = `${process.argv[1]}/${version}.json`;
    const crashed = fs.readFileSync(`${process.argv[1]}/${version}.status`, "utf8").trim() !== "0";
    const r = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { numPassedTests: 0, numFailedTests: 0 };
    passed += r.numPassedTests;
    failed += Math.max(r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0), crashed ? 1 : 0);
  }
  console.log(`${passed} passed, ${failed} failed`);
' "$results" ${TEST_NODE:-24 22 26}
exit "$status"
