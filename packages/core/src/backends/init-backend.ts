/**
 * `initBackend`: chooses among the backends (`native` and `webgpu` each in their own folder with a `use…`
 * entry; `tensorflow`, `wasm` and `cpu` here, a few lines each) and remembers the one chosen.
 */
import { createRequire } from "node:module";
import { tf } from "../tf.js";
import { useNative } from "./native/use-native.js";
import { useWebGPU } from "./webgpu/use-webgpu.js";
import { mayHaveGpu } from "./webgpu/adapter.js";
import type { BackendInfo, BackendName } from "./backend-info.js";

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/**
 * Chooses and initializes the TF.js backend. `auto` (the default, or env `BIRDVLM_BACKEND`) takes
 * `tensorflow` when tfjs-node(-gpu) loads, else the fastest CPU backend here. Calling it again with the
 * same request returns the same backend.
 */
export async function initBackend(name?: BackendName): Promise<BackendInfo> {
  const requested = name ?? ((process.env.BIRDVLM_BACKEND as BackendName | undefined) || "auto");
  if (current && (requested === "auto" || requested === current.name)) return current;
  if (pending) await pending.catch(() => undefined);
  if (current && (requested === "auto" || requested === current.name)) return current;
  pending = choose(requested);
  try {
    current = await pending;
    return current;
  } finally {
    pending = undefined;
  }
}

/** The backend chosen by the last `initBackend`, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

async function choose(name: BackendName): Promise<BackendInfo> {
  switch (name) {
    case "tensorflow":
      return useTensorflow();
    case "native":
      return useNative();
    case "webgpu":
      return useWebGPU();
    case "wasm":
      return useWasm();
    case "cpu":
      return useCpu();
    case "auto": {
      try {
        return await useTensorflow();
      } catch {
        /* not installed: fall through */
      }
      if (mayHaveGpu()) {
        try {
          return await useWebGPU({ requireHardware: true });
        } catch (e) {
          // A GPU is here but unused: say why (Dawn not installed, no adapter) unless it is a software one.
          if (!/software rasterizer/.test((e as Error).message))
            process.emitWarning(
              `BirdVLM: a GPU device is present but the webgpu backend is not available (${(e as Error).message}); ` +
                "using the CPU. Install it with 'npm install webgpu @tensorflow/tfjs-backend-webgpu@4.22.0', or set " +
                "BIRDVLM_BACKEND=native to choose the CPU.",
            );
        }
      }
      try {
        return await useNative();
      } catch (e) {
        process.emitWarning(
          `BirdVLM: the native backend is not available, falling back to wasm (about 3x slower for inference, ` +
            `30x for training): ${(e as Error).message}`,
        );
      }
      try {
        return await useWasm();
      } catch (e) {
        process.emitWarning(`BirdVLM: the wasm backend failed to load (${(e as Error).message}); using cpu`);
        return useCpu();
      }
    }
    default:
      throw new Error(
        `initBackend: unknown backend '${name}' (expected auto, tensorflow, native, webgpu, wasm or cpu)`,
      );
  }
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

async function useWasm(): Promise<BackendInfo> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialize");
  await tf.ready();
  void wasm;
  return { name: "wasm", threads: 1 };
}

async function useCpu(): Promise<BackendInfo> {
  await import("@tensorflow/tfjs-backend-cpu");
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not initialize");
  await tf.ready();
  // The cpu backend's first write prints an advert for tfjs-node; BirdVLM chose this backend on purpose.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return { name: "cpu", threads: 1 };
}
