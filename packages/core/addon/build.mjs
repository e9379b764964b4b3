#!/usr/bin/env node
// Builds the native addon (addon/build/Release/birdvlm_native.node) with node-gyp.
// No install script runs it: users get the prebuilt binary from the platform package (@birdvlm/core-<platform>);
// this is the local build (pnpm build in the workspace, or by hand where no prebuilt package fits).
// `--optional`: a failure (no C++ compiler, no headers) warns and exits 0, so builds go on and
// `initBackend('auto')` falls back to wasm. Skips the build when the binary is newer than every source.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, renameSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const optional = process.argv.includes("--optional");
const force = process.argv.includes("--force");
const binary = join(here, "build", "Release", "birdvlm_native.node");

function fail(message) {
  if (optional) {
    console.warn(`@birdvlm/core: native addon not built (${message}); the wasm backend will be used.`);
    process.exit(0);
  }
  console.error(`@birdvlm/core: native addon build failed: ${message}`);
  process.exit(1);
}

if (process.env.BIRDVLM_SKIP_NATIVE === "1") fail("BIRDVLM_SKIP_NATIVE=1");

function upToDate() {
  if (force || !existsSync(binary)) return false;
  const built = statSync(binary).mtimeMs;
  const sources = [join(here, "binding.gyp"), ...readdirSync(join(here, "src")).map((f) => join(here, "src", f))];
  return sources.every((f) => statSync(f).mtimeMs <= built);
}

/** node-gyp: the one npm or pnpm hands to scripts, else one on PATH, else the copy bundled with npm or pnpm. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return [process.execPath, [process.env.npm_config_node_gyp]];
  }
  const prefix = resolve(dirname(process.execPath), "..");
  const bundled = [
    join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    join(prefix, "lib/node_modules/pnpm/dist/node_modules/node-gyp/bin/node-gyp.js"),
  ];
  try {
    bundled.unshift(createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js"));
  } catch {
    /* not a dependency */
  }
  const found = bundled.find((p) => existsSync(p));
  if (found) return [process.execPath, [found]];
  return ["node-gyp", []];
}

/** Use the headers installed beside node (no download) when they are there. */
function nodedirArgs() {
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

/**
 * In the workspace, the binary is also copied into this machine's platform package (packages/core-<platform>,
 * which the loader tries first), so that the two never differ. An installed core has no such folder.
 */
function copyToPlatformPackage() {
  let libc = "";
  if (process.platform === "linux") libc = process.report.getReport().header.glibcVersionRuntime ? "-gnu" : "-musl";
  const dir = join(here, "..", "..", `core-${process.platform}-${process.arch}${libc}`);
  if (!existsSync(join(dir, "package.json"))) return;
  const target = join(dir, "birdvlm_native.node");
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(binary).mtimeMs) return;
  // Copied beside the target and renamed over it: a running process that mapped the old binary keeps its inode
  // (writing into the mapped file in place could crash it).
  const temporary = `${target}.${process.pid}.tmp`;
  copyFileSync(binary, temporary);
  renameSync(temporary, target);
  console.log(`@birdvlm/core: copied the addon to ${target}`);
}

if (upToDate()) {
  copyToPlatformPackage();
  process.exit(0);
}
const [cmd, pre] = nodeGyp();
const args = [...pre, "rebuild", ...nodedirArgs(), "--jobs=max"];
const r = spawnSync(cmd, args, { cwd: here, stdio: ["ignore", "inherit", "inherit"] });
if (r.error) fail(`${cmd}: ${r.error.message}`);
if (r.status !== 0) fail(`node-gyp exited with ${r.status}`);
if (!existsSync(binary)) fail(`${binary} was not produced`);
console.log(`@birdvlm/core: built ${binary}`);
copyToPlatformPackage();
