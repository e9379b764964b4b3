/**
 * What `initBackend` does in Node and in a page alike: the order `auto` tries the backends in, the one chosen
 * (remembered), and the two backends that run everywhere (`wasm`, `cpu`). Each host's `initBackend` passes the
 * backends only it has (`tensorflow` and `native` in Node; WebGPU from Dawn or from the browser).
 */
import { tf } from "../tf.js";
import { warn } from "../environment.js";
import type { BackendInfo, BackendName } from "./backend-info.js";
import type { WebGPUOptions } from "./webgpu/activate.js";

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /**
   * Where the wasm backend finds its `.wasm` files (`tfjs-backend-wasm.wasm`, `-simd.wasm`,
   * `-threaded-simd.wasm`): a URL prefix ending in `/`, or a map from file name to URL. Needed in a page whose
   * bundle does not sit beside them; ignored once the wasm backend is initialized. In Node they are found in
   * the package.
   */
  wasmPaths?: string | Record<string, string>;
}

/** The backends one host offers, and how it tells whether a GPU may be present. */
export interface HostBackends {
  tensorflow?: () => Promise<BackendInfo>;
  native?: () => Promise<BackendInfo>;
  webgpu: (options: WebGPUOptions) => Promise<BackendInfo>;
  /** False when the host certainly has no GPU (`auto` then does not try WebGPU). */
  mayHaveGpu(): boolean;
  /** How to get WebGPU working, for the warning when a GPU is present but unused. */
  webgpuFix: string;
  /** Where this host is, for errors (`Node`, `a web page`). */
  where: string;
}

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/** Chooses and initializes the backend `requested` among `host`'s; the same request again returns the same one. */
export async function chooseBackend(
  host: HostBackends,
  requested: BackendName,
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  if (current && (requested === "auto" || requested === current.name)) return current;
  if (pending) await pending.catch(() => undefined);
  if (current && (requested === "auto" || requested === current.name)) return current;
  pending = choose(host, requested, options);
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

function notHere(host: HostBackends, name: string): never {
  throw new Error(`initBackend('${name}'): not available in ${host.where} (use auto, webgpu, wasm or cpu)`);
}

async function choose(host: HostBackends, name: BackendName, options: InitBackendOptions): Promise<BackendInfo> {
  switch (name) {
    case "tensorflow":
      return host.tensorflow ? host.tensorflow() : notHere(host, name);
    case "native":
      return host.native ? host.native() : notHere(host, name);
    case "webgpu":
      return host.webgpu({});
    case "wasm":
      return useWasm(options);
    case "cpu":
      return useCpu();
    case "auto": {
      if (host.tensorflow) {
        try {
          return await host.tensorflow();
        } catch {
          /* not installed: fall through */
        }
      }
      if (host.mayHaveGpu()) {
        try {
          return await host.webgpu({ requireHardware: true });
        } catch (e) {
          // A GPU is here but unused: say why (Dawn not installed, no adapter) unless it is a software one.
          if (!/software rasterizer/.test((e as Error).message))
            warn(
              `BirdVLM: a GPU device is present but the webgpu backend is not available (${(e as Error).message}); ` +
                `using the CPU. ${host.webgpuFix}`,
            );
        }
      }
      if (host.native) {
        try {
          return await host.native();
        } catch (e) {
          warn(
            `BirdVLM: falling back to wasm (about 3x slower than native for inference, 30x for training): ` +
              (e as Error).message,
          );
        }
      }
      try {
        return await useWasm(options);
      } catch (e) {
        warn(`BirdVLM: the wasm backend failed to load (${(e as Error).message}); using cpu`);
        return useCpu();
      }
    }
    default:
      throw new Error(
        `initBackend: unknown backend '${name}' (expected auto, tensorflow, native, webgpu, wasm or cpu)`,
      );
  }
}

async function useWasm(options: InitBackendOptions): Promise<BackendInfo> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  if (options.wasmPaths !== undefined) wasm.setWasmPaths(options.wasmPaths as Parameters<typeof wasm.setWasmPaths>[0]);
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend did not initialize");
  await tf.ready();
  return { name: "wasm", threads: wasm.getThreadsCount() };
}

async function useCpu(): Promise<BackendInfo> {
  await import("@tensorflow/tfjs-backend-cpu");
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not initialize");
  await tf.ready();
  // The cpu backend's first write prints an advert for tfjs-node; BirdVLM chose this backend on purpose.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  return { name: "cpu", threads: 1 };
}
