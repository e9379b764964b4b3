import { tf } from "../../../tf.js";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { NativeAddon } from "../addon.js";

type TensorInfo = tf.TensorInfo;

/** What every native kernel receives (the TF.js kernel arguments, typed for the native backend). */
export interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: MathBackendCPU;
  attrs?: tf.NamedAttrMap;
}

/** A kernel of the native backend: given the addon, returns the TF.js kernel function. */
export type NativeKernel = (addon: NativeAddon, cpu: tf.KernelFunc) => tf.KernelFunc;

/** The float32 values of `t`, or undefined when `t` is not a plain float32 tensor (then use the cpu kernel). */
export function f32(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | undefined {
  if (!t || t.dtype !== "float32") return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

/**
 * Waits for the native backend's queued kernels (a no-op elsewhere): call it before JavaScript reads a tensor's
 * values or writes into a buffer from the pool.
 */
export function hostAccess(backend: MathBackendCPU): void {
  (backend as { synchronizeLaunches?: () => void }).synchronizeLaunches?.();
}

/** Element count of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Wraps a native kernel so that any input it does not handle goes to the cpu kernel. */
export function withFallback(cpu: tf.KernelFunc, native: (args: KernelArgs) => TensorInfo | undefined): tf.KernelFunc {
  return ((args: KernelArgs) => native(args) ?? cpu(args as never)) as unknown as tf.KernelFunc;
}

/** Strides of `shape` right-aligned to `rank` output dims, 0 where it broadcasts (size 1). */
export function broadcastStrides(shape: readonly number[], rank: number): number[] {
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = shape.length - 1, o = rank - 1; d >= 0; d--, o--) {
    strides[o] = shape[d] === 1 ? 0 : s;
    s *= shape[d];
  }
  return strides;
}

/** A float32 output buffer of `n` elements with unspecified contents (from the backend's pool when it has one). */
export function output(backend: MathBackendCPU, n: number): Float32Array {
  const pool = (backend as { pool?: { take(n: number): Float32Array } }).pool;
  return pool ? pool.take(n) : new Float32Array(n);
}
