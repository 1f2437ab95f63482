#!/usr/bin/env bash
# The main job on one machine: install what is needed, then run cloudcore and one edgecore joined to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-system-deps.sh
npm install --no-audit --no-fund --loglevel=error
exec node --import tsx tools/demo/all-in-one.ts
