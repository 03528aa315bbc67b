#!/usr/bin/env bash
# `npm run bench`: builds, makes sure the shared RabbitMQ node is up, then runs
# the benchmarks on the pinned Node.js 24, or on each version BENCH_NODE lists
# (space- or comma-separated), one after another in the same run, so their
# ratios can be set side by side:
#   BENCH_NODE=22 npm run bench            on Node.js 22 (the pinned 22.14)
#   BENCH_NODE="24 22" BENCH_ONLY=http npm run bench
# A version is a major pinned in package.json (22, 24, 26) or a path to a node binary.
set -euo pipefail
cd "$(dirname "$0")/.."
# The build runs on the default pinned Node.js (24 LTS), whichever node npm's PATH would find first.
PATH="$(dirname "$(scripts/node-bin.sh)"):$PATH"
npm run build --silent
bash test/brokers/setup.sh --shared-only
for version in $(echo "${BENCH_NODE:-24}" | tr , " "); do
  bin=$(scripts/node-bin.sh "$version")
  echo "== benchmarks on Node.js $("$bin" --version)"
  "$bin" dist/bench/run-benchmarks.js
done
