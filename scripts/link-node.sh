#!/usr/bin/env bash
# npm's `prepare` step (npm ci / npm install in this checkout, never in an
# application that installs the package): points node_modules/.bin/node at the
# default pinned Node.js (the "node" devDependency, 24 LTS). The other pinned
# builds ("node-22", "node-26") declare the same bin name, and npm links
# whichever it meets last, so without this `npm start` could run on 22.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x node_modules/node/bin/node ]] || exit 0 # not installed with devDependencies
ln -sfn ../node/bin/node node_modules/.bin/node
