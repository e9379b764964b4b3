#!/usr/bin/env bash
# The consumer test: BirdVLM as a user installs it. Packs every package (pnpm pack, as the registry would serve
# them), installs the tarballs into fresh projects outside the workspace with npm and with pnpm (its
# `overrides` point each @birdvlm/* at its tarball), on a PATH without compilers, and checks: no install script
# in the dependency tree, nothing optional bundled into dist, ESM import and CJS require of every package,
# initBackend() -> native (the prebuilt platform package), initBackend('webgpu') -> webgpu once `webgpu` and
# `@tensorflow/tfjs-backend-webgpu` are installed as the docs say (Mesa's lavapipe in CI: .ci/setup-webgpu.sh),
# a .cts and a .mts file importing @birdvlm/vit type-check under module/moduleResolution node16, and the
# `birdvlm` bin prints its help. Prints install times and node_modules sizes, then one pass/fail line.
#
# Usage: bash scripts/consumer-test.sh [--no-build] [--bench]
#   --no-build  use the packages as built (.ci/run builds them just before)
#   --bench     also run `pnpm bench --only vit-infer-b8` from the npm consumer and from the workspace, back to back
# Env: BIRDVLM_CONSUMER_CACHE (npm cache and pnpm store, kept between runs; default ~/.cache/birdvlm-consumer),
#      BIRDVLM_CONSUMER_DIR (where the projects go; default a new temporary folder, removed on success).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build=1
bench=0
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --bench) bench=1 ;;
    *) echo "consumer-test: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
export PATH="$root/.tools/bin:$PATH"
cache="${BIRDVLM_CONSUMER_CACHE:-$HOME/.cache/birdvlm-consumer}"
work="${BIRDVLM_CONSUMER_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/birdvlm-consumer.XXXXXX")}"
mkdir -p "$cache" "$work"
failures=()
fail() { failures+=("$1"); echo "consumer-test: FAIL: $1" >&2; }
step() { echo "consumer-test: $*"; }
seconds() { echo $(( $(date +%s%N) / 1000000 )); }

# 1. Build and pack.
[ "$build" = 1 ] && pnpm build >/dev/null
rm -rf "$work/tarballs" && mkdir -p "$work/tarballs"
for dir in packages/*/; do
  (cd "$dir" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
step "packed: $(cd "$work/tarballs" && for f in *.tgz; do printf '%s (%s KB) ' "$f" $(( $(stat -c %s "$f") / 1024 )); done)"
tarball() { ls "$work/tarballs"/birdvlm-"$1"-[0-9]*.tgz; }

# 2. A PATH with node, npm and pnpm and the usual tools, but no compiler, make or python: node-gyp cannot run.
shim="$work/bin"
rm -rf "$shim" && mkdir -p "$shim"
for tool in node npm npx pnpm sh bash env tar gzip cat ls rm mkdir cp mv ln chmod dirname basename uname grep sed \
  head tail wc du sort find xargs tr date sleep true false; do
  p="$(command -v "$tool" || true)"
  [ -n "$p" ] && ln -s "$p" "$shim/$tool"
done
for c in cc gcc g++ c++ clang make python python3; do
  if PATH="$shim" command -v "$c" >/dev/null 2>&1; then fail "the compiler-free PATH has $c"; fi
done
run() { env PATH="$shim" HOME="$work/home" npm_config_cache="$cache/npm" npm_config_update_notifier=false "$@"; }
mkdir -p "$work/home"

# 3. The checks, run in each consumer project (node's own APIs only).
write_checks() {
  local dir="$1"
  cat >"$dir/check-esm.mjs" <<'EOF'
// ESM import of every package; the default backend must be native, from the platform package, with no warning.
const warnings = [];
process.on("warning", (w) => warnings.push(w.message));
const names = ["core", "data", "vit", "projector", "phi3", "vlm"];
for (const n of names) {
  const m = await import(`@birdvlm/${n}`);
  if (Object.keys(m).length < 3) throw new Error(`@birdvlm/${n}: only ${Object.keys(m)} exported`);
}
const core = await import("@birdvlm/core");
const info = await core.initBackend();
await new Promise((r) => setImmediate(r));
if (info.name !== "native") throw new Error(`initBackend() chose ${info.name}, not native: ${warnings.join("; ")}`);
if (warnings.length) throw new Error(`warnings: ${warnings.join("; ")}`);
// The data pipeline's native augmentation from the platform package: the JavaScript's floats for a small crop.
const data = await import("@birdvlm/data");
const ops = core.nativePixelOps();
if (!ops) throw new Error("nativePixelOps() is undefined with the platform package installed");
const pixels = { data: Uint8Array.from({ length: 9 * 7 * 3 }, (_, i) => (i * 37) % 256), width: 9, height: 7 };
const augmentation = { region: { left: 1, top: 0, width: 7, height: 6 }, flipped: true };
const want = new Float32Array(5 * 5 * 3), got = new Float32Array(5 * 5 * 3);
data.augmentInto(pixels, augmentation, 5, data.IMAGENET_MEAN, data.IMAGENET_STD, want, 0);
data.augmentBatchNative(ops, [{ pixels, augmentation }], 5, data.IMAGENET_MEAN, data.IMAGENET_STD, got, new Float32Array(75));
if (want.some((v, i) => v !== got[i])) throw new Error("augmentBatchNative differs from augmentInto");
console.log(`esm: ${names.length} packages imported; initBackend() -> ${JSON.stringify(info)}; native pixel ops`);
EOF
  cat >"$dir/check-cjs.cjs" <<'EOF'
// CommonJS require of every package.
const names = ["core", "data", "vit", "projector", "phi3", "vlm"];
for (const n of names) {
  const m = require(`@birdvlm/${n}`);
  if (Object.keys(m).length < 3) throw new Error(`@birdvlm/${n}: only ${Object.keys(m)} exported`);
}
require("@birdvlm/core")
  .initBackend()
  .then((info) => {
    if (info.name !== "native") throw new Error(`require: initBackend() chose ${info.name}`);
    console.log(`cjs: ${names.length} packages required; initBackend() -> ${info.name}`);
  });
EOF
  cat >"$dir/check-webgpu.mjs" <<'EOF'
// initBackend('webgpu') from the installed packages, then a synchronous read on the GPU.
import { initBackend, tf } from "@birdvlm/core";
const info = await initBackend("webgpu");
if (info.name !== "webgpu") throw new Error(`initBackend('webgpu') chose ${info.name}`);
const y = tf.matMul(tf.ones([3, 5]), tf.ones([5, 2]));
const v = Array.from(y.dataSync());
if (v.join() !== "5,5,5,5,5,5") throw new Error(`webgpu matmul gave ${v}`);
console.log(`webgpu: initBackend('webgpu') -> ${info.details?.description ?? JSON.stringify(info.details)}`);
EOF
  cat >"$dir/check-scripts.cjs" <<'EOF'
// No package in node_modules has an install script (preinstall, install, postinstall), nor a binding.gyp that
// npm would build implicitly; and nothing optional is bundled into @birdvlm/*/dist.
const { readdirSync, readFileSync, existsSync, statSync } = require("node:fs");
const { join } = require("node:path");
const found = [];
function visit(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name === ".bin") continue;
    const p = join(dir, name);
    if (name.startsWith("@") && statSync(p).isDirectory()) { visit(p); continue; }
    const pj = join(p, "package.json");
    if (!existsSync(pj)) { if (name === ".pnpm") visit(p); else if (statSync(p).isDirectory()) visit(join(p, "node_modules")); continue; }
    const pkg = JSON.parse(readFileSync(pj, "utf8"));
    const s = pkg.scripts ?? {};
    for (const k of ["preinstall", "install", "postinstall"]) if (s[k]) found.push(`${pkg.name}: ${k}: ${s[k]}`);
    if (!s.install && !pkg.gypfile && existsSync(join(p, "binding.gyp"))) found.push(`${pkg.name}: binding.gyp`);
    visit(join(p, "node_modules"));
  }
}
visit("node_modules");
if (found.length) throw new Error(`install scripts: ${[...new Set(found)].join("; ")}`);
const dist = join(require.resolve("@birdvlm/core"), "..");
for (const f of readdirSync(dist)) {
  const text = readFileSync(join(dist, f), "utf8");
  if (/dawn\.node|class WebGPUBackend|deasync/.test(text)) throw new Error(`@birdvlm/core/dist/${f} bundles an optional GPU piece`);
  if (f.endsWith(".map")) throw new Error(`@birdvlm/core/dist/${f}: a source map in the tarball`);
}
console.log("scripts: no install scripts in the dependency tree; nothing optional bundled");
EOF
}

check_project() {
  local label="$1" dir="$2" bin="$3"
  (cd "$dir" && run node check-scripts.cjs) || fail "$label: install scripts or bundled optional pieces"
  (cd "$dir" && run node check-esm.mjs) || fail "$label: ESM import / initBackend() -> native"
  (cd "$dir" && run node check-cjs.cjs) || fail "$label: CJS require"
  local help
  if help="$(cd "$dir" && run $bin birdvlm --help 2>&1)" && grep -q "^Commands:" <<<"$help"; then
    step "$label: 'birdvlm --help' prints its usage"
  else
    fail "$label: 'birdvlm --help' (${help:0:200})"
  fi
}

deps_json() {
  local sep="" n
  for n in core data vit projector phi3 vlm; do
    printf '%s"@birdvlm/%s": "%s"' "$sep" "$n" "$1"
    sep=", "
  done
}

# 4. npm: every tarball named on the command line (npm resolves @birdvlm/* from them), then the GPU pieces.
npm_dir="$work/npm"
rm -rf "$npm_dir" && mkdir -p "$npm_dir"
echo '{ "name": "birdvlm-consumer-npm", "private": true }' >"$npm_dir/package.json"
write_checks "$npm_dir"
t0=$(seconds)
if (cd "$npm_dir" && run npm install --no-audit --no-fund --loglevel=error "$work"/tarballs/*.tgz >/dev/null); then
  npm_ms=$(( $(seconds) - t0 ))
  npm_mb=$(du -sm "$npm_dir/node_modules" | cut -f1)
  step "npm: installed in $((npm_ms / 1000)).$(( (npm_ms % 1000) / 100 )) s, node_modules $npm_mb MB"
  check_project npm "$npm_dir" npx
  # TypeScript consumers (the user's own typescript and @types/node), CommonJS and ESM, node16 resolution.
  if (cd "$npm_dir" && run npm install --no-audit --no-fund --loglevel=error -D typescript@5.9.3 @types/node@20 >/dev/null); then
    cat >"$npm_dir/tsconfig.json" <<'EOF'
{ "compilerOptions": { "module": "node16", "moduleResolution": "node16", "target": "es2022", "strict": true,
  "noEmit": true, "skipLibCheck": true, "types": ["node"] }, "files": ["vit-esm.mts", "vit-cjs.cts"] }
EOF
    cat >"$npm_dir/vit-esm.mts" <<'EOF'
import { VisionTransformer, vitTiny } from "@birdvlm/vit";
import { initBackend, type BackendInfo } from "@birdvlm/core";
const info: BackendInfo = await initBackend();
export const model: VisionTransformer = new VisionTransformer({ ...vitTiny, numClasses: 10 }, { seed: 0 });
export { info };
EOF
    cat >"$npm_dir/vit-cjs.cts" <<'EOF'
import { VisionTransformer, vitTiny } from "@birdvlm/vit";
import type { BackendInfo } from "@birdvlm/core";
export const make = (): VisionTransformer => new VisionTransformer({ ...vitTiny, numClasses: 10 }, { seed: 0 });
export type Info = BackendInfo;
EOF
    if (cd "$npm_dir" && run node node_modules/typescript/bin/tsc -p tsconfig.json); then
      step "npm: a .cts and a .mts file importing @birdvlm/vit type-check (node16)"
    else
      fail "npm: TypeScript node16 consumers (.cts/.mts)"
    fi
  else
    fail "npm: installing typescript"
  fi
  # Without the platform package, auto falls back to wasm with one warning that names the reason and the fix.
  platform_pkg="$npm_dir/node_modules/@birdvlm/core-linux-x64-gnu"
  if [ -d "$platform_pkg" ]; then
    mv "$platform_pkg" "$work/platform-aside"
    fallback="$(cd "$npm_dir" && run node -e 'import("@birdvlm/core").then(async (m) => {
      const warnings = []; process.on("warning", (w) => warnings.push(w.message));
      const info = await m.initBackend(); await new Promise((r) => setImmediate(r));
      console.log(info.name + " | " + warnings.length + " | " + warnings.join(" || "));
    })' 2>/dev/null || true)"
    mv "$work/platform-aside" "$platform_pkg"
    if [[ "$fallback" == "wasm | 1 | "*"core-linux-x64-gnu"*"addon/build.mjs"* ]]; then
      step "npm: without the platform package: wasm, with one warning naming the package and the local build"
    else
      fail "npm: fallback without the platform package (${fallback:0:300})"
    fi
  fi
  t0=$(seconds)
  if (cd "$npm_dir" && run npm install --no-audit --no-fund --loglevel=error webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 >/dev/null); then
    gpu_ms=$(( $(seconds) - t0 ))
    step "npm: webgpu + tfjs-backend-webgpu added in $((gpu_ms / 1000)) s, node_modules now $(du -sm "$npm_dir/node_modules" | cut -f1) MB"
    (cd "$npm_dir" && run node check-webgpu.mjs 2>&1 | grep -v "artificially reduced") || fail "npm: initBackend('webgpu')"
  else
    fail "npm: installing webgpu"
  fi
else
  fail "npm install of the tarballs"
fi

# 5. pnpm with its defaults (builds of unapproved packages fail the install): the six packages by name,
# overrides pointing each @birdvlm/* (the platform package too) at its tarball, as a registry would serve them.
pnpm_dir="$work/pnpm"
rm -rf "$pnpm_dir" && mkdir -p "$pnpm_dir"
version="$(tar -xOzf "$(tarball core)" package/package.json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).version)')"
echo "{ \"name\": \"birdvlm-consumer-pnpm\", \"private\": true, \"dependencies\": { $(deps_json "$version") } }" \
  >"$pnpm_dir/package.json"
{
  echo "storeDir: $cache/pnpm-store"
  echo "overrides:"
  for f in "$work"/tarballs/*.tgz; do
    name="$(tar -xOzf "$f" package/package.json | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).name)')"
    echo "  \"$name\": \"file:$f\""
  done
} >"$pnpm_dir/pnpm-workspace.yaml"
write_checks "$pnpm_dir"
t0=$(seconds)
if (cd "$pnpm_dir" && run pnpm install --reporter=append-only >"$work/pnpm-install.log" 2>&1); then
  pnpm_ms=$(( $(seconds) - t0 ))
  pnpm_mb=$(du -sm "$pnpm_dir/node_modules" | cut -f1)
  step "pnpm: installed in $((pnpm_ms / 1000)).$(( (pnpm_ms % 1000) / 100 )) s, node_modules $pnpm_mb MB (store links)"
  check_project pnpm "$pnpm_dir" "pnpm exec"
  # The GPU pieces as docs/backends.md says: webgpu's postinstall (macOS only) needs approving under pnpm.
  printf 'allowBuilds:\n  webgpu: true\n' >>"$pnpm_dir/pnpm-workspace.yaml"
  if (cd "$pnpm_dir" && run pnpm add webgpu @tensorflow/tfjs-backend-webgpu@4.22.0 >>"$work/pnpm-install.log" 2>&1); then
    (cd "$pnpm_dir" && run node check-webgpu.mjs 2>&1 | grep -v "artificially reduced") || fail "pnpm: initBackend('webgpu')"
  else
    tail -20 "$work/pnpm-install.log" >&2
    fail "pnpm: adding webgpu"
  fi
else
  tail -20 "$work/pnpm-install.log" >&2
  fail "pnpm install with its defaults"
fi

# 6. Optional: the same bench case from the installed packages and from the workspace, back to back.
if [ "$bench" = 1 ] && [ -d "$npm_dir/node_modules/@birdvlm/core" ]; then
  mkdir -p "$npm_dir/bench/cases" "$npm_dir/scripts"
  cp bench/run.ts bench/harness.ts bench/measure.ts "$npm_dir/bench/"
  cp bench/cases/vit.ts bench/cases/webgpu-only.ts "$npm_dir/bench/cases/"
  cp scripts/tfjs-resolve-hook.ts "$npm_dir/scripts/"
  echo '{ "type": "module" }' | tee "$npm_dir/bench/package.json" >"$npm_dir/scripts/package.json"
  step "bench vit-infer-b8, installed packages (npm consumer):"
  (cd "$npm_dir" && node "$root/node_modules/tsx/dist/cli.mjs" bench/run.ts --only vit-infer-b8) || fail "bench (consumer)"
  step "bench vit-infer-b8, workspace:"
  pnpm bench --only vit-infer-b8 || fail "bench (workspace)"
fi

if [ "${#failures[@]}" -eq 0 ]; then
  echo "consumer-test: PASS (npm ${npm_mb:-?} MB in ${npm_ms:-?} ms, pnpm ${pnpm_mb:-?} MB in ${pnpm_ms:-?} ms)"
  [ -z "${BIRDVLM_CONSUMER_DIR:-}" ] && rm -rf "$work"
  exit 0
fi
echo "consumer-test: FAIL (${#failures[@]}): ${failures[*]} (projects kept in $work)"
exit 1
