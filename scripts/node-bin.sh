#!/usr/bin/env bash
# Prints the path of the Node.js binary for a major version, from the builds
# pinned in package.json's devDependencies ("node" is the default, Node 24 LTS;
# "node-22" and "node-26" are the others CI runs on). A path to a node binary
# is printed as it is. Used by test/run-all.sh (TEST_NODE) and bench/run.sh
# (BENCH_NODE); the library itself never depends on a Node package.
#   scripts/node-bin.sh 22   ->  /…/node_modules/node-22/bin/node
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wanted=${1:-default}

if [[ "$wanted" == */* ]]; then
  [[ -x "$wanted" ]] || { echo "node-bin: $wanted is not an executable" >&2; exit 2; }
  echo "$wanted"
  exit 0
fi

default="$root/node_modules/node/bin/node"
if [[ "$wanted" == default ]]; then
  candidate=$default
elif [[ -x "$root/node_modules/node-$wanted/bin/node" ]]; then
  candidate="$root/node_modules/node-$wanted/bin/node"
elif [[ -x "$default" && "$("$default" -p 'process.versions.node.split(".")[0]')" == "$wanted" ]]; then
  candidate=$default
else
  pinned=$(ls -d "$root"/node_modules/node-[0-9]* 2>/dev/null | sed 's|.*/node-||' | tr '\n' ' ')
  echo "node-bin: no pinned Node.js $wanted; pinned: the default (node_modules/node) and ${pinned:-none}. Run npm ci first." >&2
  exit 2
fi
[[ -x "$candidate" ]] || { echo "node-bin: $candidate is missing: run npm ci first" >&2; exit 2; }
echo "$candidate"
