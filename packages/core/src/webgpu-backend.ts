import type { BackendInfo } from "./backend.js";

/** Loads the WebGPU backend through Dawn. Not built yet: always fails. */
export async function useWebGPU(_options: { requireHardware?: boolean } = {}): Promise<BackendInfo> {
  throw new Error("the webgpu backend is not built");
}
