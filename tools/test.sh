#!/usr/bin/env bash
# The whole check, as CI runs it: install what is needed, then lint, typecheck and test every project,
# then print one summary line computed from vitest's JSON reports.
# Every test component this machine kind can have is required (docs/testing.md): CI sets no
# KEDGE_TEST_ALLOW_MISSING, and the summary fails any test that did not run unless that variable allows it.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ -n "${KEDGE_TEST_ALLOW_MISSING:-}" ]; then
  echo "KEDGE_TEST_ALLOW_MISSING=${KEDGE_TEST_ALLOW_MISSING}: the tests of these components skip when missing (not for CI)"
fi
bash tools/install-system-deps.sh || exit 1
npm install --no-audit --no-fund --loglevel=error || exit 1
rm -rf apps/*/reports libs/*/*/reports tools/reports
status=0
npx nx run-many -t lint typecheck test --outputStyle=static "$@" || status=$?
node tools/ci/summarize-vitest.mjs || status=1
exit $status
