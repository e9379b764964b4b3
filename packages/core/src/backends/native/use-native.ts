/**
 * The `native` TF.js backend: the cpu backend (plain typed-array tensors, no heap limit) with the kernels
 * that matter (matrix products, softmax, elementwise ops, reductions, transposes) replaced by calls into a
 * C++ addon (`packages/core/addon`): AVX-512 / AVX2 SGEMM with run-time dispatch, threaded over a persistent
 * pool sized to the cores (env `BIRDVLM_THREADS`). Gradients are TF.js's, which call these same kernels; while
 * this backend is active, the backward pass frees each node's saved tensors and gradients as soon as it is done
 * (`frugal-gradients.ts`).
 */
import "@tensorflow/tfjs-backend-cpu";
import { tf } from "../../tf.js";
import type { BackendInfo } from "../backend-info.js";
import { loadAddon, type NativeAddon } from "./addon.js";
import { LaunchQueue } from "./launch-queue.js";
import { NATIVE_KERNELS } from "./kernels/index.js";
import { NATIVE_ONLY_KERNELS } from "./kernels/fused-ops.js";
import { NativeBackend } from "./native-backend-class.js";
import { installFrugalGradients } from "./frugal-gradients.js";

/** The TF.js backend name. */
export const NATIVE_BACKEND = "native";

let registered: NativeAddon | undefined;

/** The cpu kernels that read no tensor's values (they share or only describe their input's buffer). */
const VALUE_FREE_KERNELS = new Set(["Identity", "Reshape", "ExpandDims", "ZerosLike", "OnesLike", "Fill", "Range"]);

/**
 * A cpu kernel (the native backend's, or a native kernel's fallback) that first waits for the addon's queued
 * kernels, since it reads its inputs' values in JavaScript.
 */
function afterLaunches(name: string, cpu: tf.KernelFunc): tf.KernelFunc {
  if (VALUE_FREE_KERNELS.has(name)) return cpu;
  return ((args: { backend: NativeBackend }) => {
    args.backend.synchronizeLaunches();
    return cpu(args as never);
  }) as unknown as tf.KernelFunc;
}

/** Registers the backend and its kernels once (the cpu kernels, with the native ones in place of some). */
function register(): NativeAddon {
  if (registered) return registered;
  const { addon, queue } = LaunchQueue.wrap(loadAddon());
  addon.info();
  for (const config of tf.getKernelsForBackend("cpu")) {
    const native = NATIVE_KERNELS[config.kernelName];
    const cpu = afterLaunches(config.kernelName, config.kernelFunc);
    tf.registerKernel({
      ...config,
      backendName: NATIVE_BACKEND,
      kernelFunc: native ? native(addon, cpu) : cpu,
    });
  }
  for (const [kernelName, kernel] of Object.entries(NATIVE_ONLY_KERNELS)) {
    tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc: kernel(addon) });
  }
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(queue), 3);
  installFrugalGradients(tf.engine(), NATIVE_BACKEND);
  registered = addon;
  return addon;
}

/** Loads the native (N-API) CPU backend and makes it the active one. Throws when the addon is absent. */
export async function useNative(): Promise<BackendInfo> {
  const addon = register();
  if (!(await tf.setBackend(NATIVE_BACKEND))) throw new Error("the native backend did not initialize");
  await tf.ready();
  const { isa, threads, async } = addon.info();
  return { name: NATIVE_BACKEND, threads, details: { isa, queue: async ? "async" : "sync" } };
}

/** Sets the native backend's thread count (0: the cores, or `BIRDVLM_THREADS`); returns the count in use. */
export function setNativeThreads(threads: number): number {
  return register().setThreads(threads);
}
