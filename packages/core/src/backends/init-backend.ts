/**
 * `initBackend` in Node: chooses among the backends (`native` and `webgpu` each in their own folder with a
 * `use…` entry; `tensorflow` here; `wasm` and `cpu` in `choose-backend.ts`) and remembers the one chosen.
 */
import { createRequire } from "node:module";
import { tf } from "../tf.js";
import { envVar } from "../environment.js";
import { useNative } from "./native/use-native.js";
import { useWebGPU } from "./webgpu/use-webgpu.js";
import { mayHaveGpu } from "./webgpu/dawn.js";
import type { BackendInfo, BackendName } from "./backend-info.js";
import { chooseBackend, type HostBackends, type InitBackendOptions } from "./choose-backend.js";

export { currentBackend, type InitBackendOptions } from "./choose-backend.js";

// This module itself as createRequire wants it: import.meta.url in ESM, __filename in the CommonJS build
// (where esbuild leaves import.meta empty).
const require = createRequire(typeof import.meta.url === "string" ? import.meta.url : __filename);

const node: HostBackends = {
  tensorflow: useTensorflow,
  native: useNative,
  webgpu: useWebGPU,
  mayHaveGpu,
  webgpuFix:
    "Install it with 'npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0', or set " +
    "BIRDVLM_BACKEND=native to choose the CPU.",
  where: "Node",
};

/**
 * Chooses and initializes the TF.js backend. `auto` (the default, or env `BIRDVLM_BACKEND`) takes
 * `tensorflow` when tfjs-node(-gpu) loads, then `webgpu` on a real GPU (Dawn), then `native`, `wasm`, `cpu`;
 * every fallback but the first warns. Calling it again with the same request returns the same backend.
 */
export async function initBackend(name?: BackendName, options?: InitBackendOptions): Promise<BackendInfo> {
  return chooseBackend(node, name ?? ((envVar("BIRDVLM_BACKEND") as BackendName | undefined) || "auto"), options);
}

async function useTensorflow(): Promise<BackendInfo> {
  const errors: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require(pkg);
      if (await tf.setBackend("tensorflow")) {
        await tf.ready();
        return { name: "tensorflow", details: { package: pkg } };
      }
    } catch (e) {
      errors.push(`${pkg}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  throw new Error(
    "initBackend('tensorflow'): neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node loads " +
      `(${errors.join("; ")}). Install one next to @birdvlm/core: 'npm install @tensorflow/tfjs-node@4.22.0' ` +
      "(it downloads libtensorflow at install time), or use initBackend('auto').",
  );
}
