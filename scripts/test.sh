#!/usr/bin/env bash
# Sets up a fresh clone (pnpm, dependencies, native addon, builds) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
pnpm build
mkdir -p .test-results
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=$?
[ -f .test-results/vitest.json ] && node scripts/test-summary.mjs .test-results/vitest.json
exit "$status"
