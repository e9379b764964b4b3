#!/usr/bin/env bash
# The GPU table of issue 8 (ViT-Tiny train and infer at batch 64, phi3-decode, the WebGPU matmul sweep) on a
# machine lent with the device tool, which has no Node, no pnpm and no registry. Two steps:
#
#   scripts/gpu-bench.sh build          here: fills .device-carry/gpu-bench/ (git-ignored, ~45 MB): this Node
#                                       (xz), the bench bundled with esbuild (bench/cases/webgpu-standalone.ts),
#                                       Dawn (the `webgpu` package, linux-x64 only, xz) and the Vulkan loader .deb
#   scripts/gpu-bench.sh run [options]  there (device tool: command `bash scripts/gpu-bench.sh run`, carry
#                                       [".device-carry"]): unpacks, finds the NVIDIA Vulkan driver, runs the cases
#                                       and writes $OUT/bench.json, $OUT/matmul-sweep.json, $OUT/log.txt,
#                                       $OUT/device.txt (OUT defaults to out/gpu-bench)
# run options: --tiny (BIRDVLM_BENCH_TINY=1: small shapes, one repetition; a dry run on lavapipe here),
#              --only a,b (case names; default vit-train-b64,vit-infer-b64,phi3-decode,webgpu-matmul-sweep),
#              --runs n (timed runs per case, at least 5).
# Extra env for the run: BIRDVLM_MATMUL_OVERRIDES (matmul override rules to apply, see matmul-choice.ts).
# See docs/gpu-bench.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.device-carry/gpu-bench

build() {
  local esbuild
  esbuild=$(ls -d node_modules/.pnpm/esbuild@*/node_modules/esbuild/bin/esbuild | sort -V | tail -1)
  local webgpu
  webgpu=$(ls -d node_modules/.pnpm/webgpu@*/node_modules/webgpu | sort -V | tail -1)
  rm -rf "$CARRY"
  mkdir -p "$CARRY/debs" "$CARRY/webgpu/dist/linux-x64"
  # sharp (curves, overlays) is not used by these cases: a stub keeps its native library out of the bundle.
  echo 'export default function sharp() { throw new Error("sharp is not in the GPU bench bundle"); }' > "$CARRY/sharp-stub.mjs"
  "$esbuild" bench/cases/webgpu-standalone.ts --bundle --platform=node --format=esm --target=node20 \
    --tsconfig=tsconfig.json --outfile="$CARRY/bench.mjs" --log-level=warning \
    --alias:sharp="./$CARRY/sharp-stub.mjs" \
    --external:webgpu --external:deasync --external:@tensorflow/tfjs-backend-wasm \
    --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="import { createRequire as __birdvlmCreateRequire } from 'node:module'; const require = __birdvlmCreateRequire(import.meta.url);"
  cp "$webgpu/package.json" "$webgpu/index.js" "$CARRY/webgpu/"
  xz -T0 -6 -c "$webgpu/dist/linux-x64/dawn.node" > "$CARRY/webgpu/dist/linux-x64/dawn.node.xz"
  xz -T0 -6 -c "$(command -v node)" > "$CARRY/node.xz"
  (cd "$CARRY/debs" && apt-get -oAPT::Architecture=amd64 download libvulkan1) ||
    echo "gpu-bench build: could not download libvulkan1 (the run then needs the machine's own loader)" >&2
  du -sh "$CARRY"/* "$CARRY"
}

run() {
  local tiny=0 only="" runs=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --tiny) tiny=1 ;;
      --only) only="$2"; shift ;;
      --runs) runs="$2"; shift ;;
      *) echo "gpu-bench run: unknown option $1" >&2; exit 2 ;;
    esac
    shift
  done
  [ -f "$CARRY/bench.mjs" ] || { echo "gpu-bench run: $CARRY/bench.mjs missing: run 'scripts/gpu-bench.sh build' here and carry .device-carry" >&2; exit 2; }
  local out="${OUT:-out/gpu-bench}"
  mkdir -p "$out"
  out=$(cd "$out" && pwd)
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    for f in "$CARRY"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
    ldconfig || true
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
  local dir=/tmp/birdvlm-gpu-bench
  rm -rf "$dir" && mkdir -p "$dir/node_modules/webgpu/dist/linux-x64"
  unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma, sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$1"; fi; }
  unxz "$CARRY/node.xz" > "$dir/node" && chmod +x "$dir/node"
  cp "$CARRY/webgpu/package.json" "$CARRY/webgpu/index.js" "$dir/node_modules/webgpu/"
  unxz "$CARRY/webgpu/dist/linux-x64/dawn.node.xz" > "$dir/node_modules/webgpu/dist/linux-x64/dawn.node"
  cp "$CARRY/bench.mjs" "$dir/"
  {
    date -u
    uname -a
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "no nvidia-smi"
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  } > "$out/device.txt" 2>&1
  local args=(--json "$out/bench.json")
  [ -n "$only" ] && args+=(--only "$only")
  [ -n "$runs" ] && args+=(--runs "$runs")
  set -o pipefail
  BIRDVLM_STANDALONE_BENCH=1 BIRDVLM_BACKEND=webgpu BIRDVLM_BENCH_TINY=$tiny BIRDVLM_MATMUL_SWEEP_JSON="$out/matmul-sweep.json" \
    "$dir/node" "$dir/bench.mjs" "${args[@]}" 2>&1 | grep --line-buffered -v 'artificially reduced' | tee "$out/log.txt"
}

case "${1:-}" in
  build) build ;;
  run) shift; run "$@" ;;
  *) echo "usage: scripts/gpu-bench.sh build | run [--tiny] [--only a,b] [--runs n]" >&2; exit 2 ;;
esac
