#!/usr/bin/env bash
# Runs the golden tests (ViT, Phi-3, training) and the WebGPU kernel tests on the `webgpu` backend: Dawn on
# whatever Vulkan adapter is here (Mesa lavapipe in CI: install it with .ci/setup-webgpu.sh). Without an
# adapter every file fails (initBackend('webgpu') throws in vitest.setup.ts), so nothing skips silently.
# Extra arguments go to vitest. Assumes the workspace is installed (scripts/test.sh did it).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! compgen -G "/usr/share/vulkan/icd.d/*.json" >/dev/null && ! compgen -G "/etc/vulkan/icd.d/*.json" >/dev/null \
  && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  echo "test-webgpu: no Vulkan driver found (run .ci/setup-webgpu.sh); the WebGPU tests will fail" >&2
fi
# The golden tests are the test files that read a file under the shared goldens/ folder; then ours (the WGSL kernels,
# bit-identical training runs and a ViT run resumed bit for bit, read-back counts in a training and a decoding step).
mapfile -t golden < <(grep -rlE "goldens/" packages/*/src bench --include='*.test.ts' 2>/dev/null | sort)
echo "test-webgpu: ${#golden[@]} golden test files: ${golden[*]}"
mkdir -p .test-results
status=0
BIRDVLM_BACKEND=webgpu npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest-webgpu.json \
  "${golden[@]}" packages/core/src/backends/webgpu packages/core/src/ops packages/phi3/src/decode-readback.test.ts packages/vit/src/train.test.ts "$@" || status=$?
[ -f .test-results/vitest-webgpu.json ] && node scripts/test-summary.mjs .test-results/vitest-webgpu.json
exit "$status"
