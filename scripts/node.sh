#!/usr/bin/env bash
# Runs the default pinned Node.js (24 LTS, the "node" devDependency) with the given arguments, whatever
# `node` the PATH would find first. npm links one `node` bin for the three pinned builds (24, 22, 26
# declare the same name), so the project's npm scripts name the one they mean through this file.
#   bash scripts/node.sh dist/sample-app/main.js
set -euo pipefail
bin=$("$(dirname "$0")/node-bin.sh")
exec "$bin" "$@"
