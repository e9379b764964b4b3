/**
 * The `webgpu` backend in Node: TF.js's WebGPU backend (`@tensorflow/tfjs-backend-webgpu`) on Dawn (the `webgpu`
 * package), both optional dependencies loaded only here, plus BirdVLM's fused WGSL kernels.
 */
import { readFileSync } from "node:fs";
import type { BackendInfo } from "../backend-info.js";
import { activateWebGPU, type WebGPUOptions } from "./activate.js";
import { loadDawn, mayHaveGpu } from "./dawn.js";
import { setMatMulOverridesFileReader } from "./matmul-choice.js";
import { withNodeReadSync } from "./read-sync.js";

export { webgpuErrors, type WebGPUOptions } from "./activate.js";

/**
 * Loads Dawn and TF.js's WebGPU backend, registers BirdVLM's WGSL kernels on it and makes it the active
 * backend. `details` names the adapter (vendor, architecture, device, description, software). Throws when
 * either package is missing, no adapter is found, or `requireHardware` is set and the adapter is a software
 * rasterizer.
 */
export async function useWebGPU(options: WebGPUOptions = {}): Promise<BackendInfo> {
  if (options.requireHardware && !mayHaveGpu()) throw new Error("initBackend('webgpu'): no GPU device on this machine");
  setMatMulOverridesFileReader((path) => readFileSync(path, "utf8"));
  const gpu = await loadDawn();
  return activateWebGPU(
    {
      gpu,
      wrapBackend: withNodeReadSync,
      noAdapterHint:
        "Without a GPU, install Mesa's software Vulkan (Debian: mesa-vulkan-drivers >= 25 from bookworm-backports, " +
        "and libvulkan1; see .ci/setup-webgpu.sh).",
    },
    options,
  );
}
