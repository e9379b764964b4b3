#!/usr/bin/env bash
# Sets up a fresh clone and runs the demo: SynthBirds → ViT → align → instruct → evaluate, no download.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
pnpm demo "$@"
