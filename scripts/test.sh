#!/usr/bin/env bash
# Sets up a fresh clone (pnpm, dependencies, native addon, builds) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
pnpm build
mkdir -p .test-results
status=0
pnpm test --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=$?
node scripts/test-summary.mjs .test-results/vitest.json || true
exit "$status"
