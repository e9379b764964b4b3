/**
 * Dawn (the `webgpu` npm package, an optional peer dependency of core) as the `navigator.gpu` of Node, loaded on first use.
 */

import { hookDawnTicks } from "./read-sync.js";

/** The parts of a WebGPU `GPUAdapter` that BirdVLM uses (typed loosely: core has no WebGPU type library). */
export interface GPUAdapterLike {
  info?: import("./adapter.js").AdapterInfoLike;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<GPUDeviceLike>;
}

/** The parts of a WebGPU `GPUDevice` that BirdVLM uses. */
export interface GPUDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

/** The parts of `navigator.gpu` that BirdVLM uses. */
export interface GPULike {
  requestAdapter(options?: { powerPreference?: "high-performance" | "low-power" }): Promise<GPUAdapterLike | null>;
}

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
  const flags = (process.env.BIRDVLM_DAWN_FLAGS ?? "").split(",").filter((s) => s.trim() !== "");
  gpu = mod.create(flags);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator === undefined)
    Object.defineProperty(globalThis, "navigator", { value: {}, writable: true, configurable: true });
  (g.navigator as { gpu?: unknown }).gpu = gpu;
  return gpu;
}
