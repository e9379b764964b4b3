#!/usr/bin/env bash
# Sets up a fresh clone (pnpm, dependencies, native addon, builds) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
pnpm build
pnpm test
