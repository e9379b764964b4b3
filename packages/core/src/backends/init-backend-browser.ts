/**
 * `initBackend` in a web page: WebGPU from the browser (`navigator.gpu`), then wasm (threaded when the page is
 * cross-origin isolated), then cpu.
 */
import type { BackendInfo, BackendName } from "./backend-info.js";
import { chooseBackend, type HostBackends, type InitBackendOptions } from "./choose-backend.js";
import { useBrowserWebGPU } from "./webgpu/activate.js";

export { currentBackend, type InitBackendOptions } from "./choose-backend.js";

const page: HostBackends = {
  webgpu: useBrowserWebGPU,
  mayHaveGpu: () => (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== undefined,
  webgpuFix: "Bundle @tensorflow/tfjs-backend-webgpu with the page, or call initBackend('wasm').",
  where: "a web page",
};

/**
 * Chooses and initializes the TF.js backend in a page. `auto` (the default) takes `webgpu` on a real GPU
 * adapter, else `wasm` (its `.wasm` files found through `options.wasmPaths`; threads when
 * `crossOriginIsolated`), else `cpu`; every fallback warns on the console. `tensorflow` and `native` are
 * Node's and throw here. Calling it again with the same request returns the same backend.
 */
export async function initBackend(name: BackendName = "auto", options?: InitBackendOptions): Promise<BackendInfo> {
  return chooseBackend(page, name, options);
}
