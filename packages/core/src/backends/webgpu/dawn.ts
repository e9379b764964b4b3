/**
 * Dawn (the `webgpu` npm package, an optional peer dependency of core) as the `navigator.gpu` of Node, loaded on first use.
 */

import { existsSync, readdirSync } from "node:fs";
import { envVar } from "../../environment.js";
import type { GPULike } from "./gpu-types.js";
import { hookDawnTicks } from "./read-sync.js";

export type { GPUAdapterLike, GPUDeviceLike, GPULike } from "./gpu-types.js";

let gpu: GPULike | undefined;

/**
 * Loads Dawn once and installs it as the WebGPU of this process: the WebGPU globals (`GPUBufferUsage`, ...) on
 * `globalThis` and `navigator.gpu`. Env `BIRDVLM_DAWN_FLAGS` (comma-separated Dawn options such as
 * `backend=vulkan` or `adapter=<name>`) is passed to `create`. Throws when `webgpu` is not installed.
 */
export async function loadDawn(): Promise<GPULike> {
  if (gpu) return gpu;
  let mod: { create(flags: string[]): GPULike; globals: Record<string, unknown> };
  try {
    mod = (await import("webgpu")) as unknown as typeof mod;
  } catch (e) {
    throw new Error(
      `the 'webgpu' package (Dawn) does not load: ${(e as Error).message.split("\n")[0]}. ` +
        "Install it next to @birdvlm/core ('npm install webgpu') to use initBackend('webgpu').",
    );
  }
  hookDawnTicks(); // before Dawn queues anything: synchronous reads drive its event processing
  Object.assign(globalThis, mod.globals);
  const flags = (envVar("BIRDVLM_DAWN_FLAGS") ?? "").split(",").filter((s) => s.trim() !== "");
  gpu = mod.create(flags);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined)
    Object.defineProperty(globalThis, "navigator", { value: {}, writable: true, configurable: true });
  (g.navigator as { gpu?: unknown }).gpu = gpu;
  return gpu;
}

/**
 * False when this machine certainly has no GPU a WebGPU adapter could use: on Linux, no `/dev/dri/renderD*`
 * (Mesa's hardware drivers) and no `/dev/nvidia*` (NVIDIA's). Lets `auto` skip loading Dawn on CPU-only
 * machines. True elsewhere (other platforms are not checked).
 */
export function mayHaveGpu(): boolean {
  if (process.platform !== "linux") return true;
  const has = (dir: string, prefix: string) => {
    try {
      return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(prefix));
    } catch {
      return true;
    }
  };
  return has("/dev/dri", "renderD") || has("/dev", "nvidia");
}
