// In-place writes into tensors whose values live in host memory (the cpu and native backends), for buffers a
// caller owns alone, such as a preallocated KV cache. TF.js tensors are otherwise immutable.
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { tf } from "../../tf.js";
import { hostAccess } from "./kernels/util.js";

/** The host values of `t` when the active backend keeps float32 tensors as plain typed arrays, else undefined. */
function hostValues(t: tf.Tensor): Float32Array | undefined {
  const backend = tf.backend();
  if (!(backend instanceof MathBackendCPU) || t.dtype !== "float32" || t.isDisposed) return undefined;
  hostAccess(backend); // queued kernels may still use it
  const values = backend.data.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : undefined;
}

/** Whether {@link writePositionsInPlace} works on the active backend (cpu, native). */
export function canWriteInPlace(): boolean {
  return tf.backend() instanceof MathBackendCPU;
}

/**
 * A float32 tensor of `shape`, zero-filled, whose buffer no other tensor shares: the target of
 * {@link writePositionsInPlace}. On other backends, a plain `tf.zeros`.
 */
export function exclusiveZeros(shape: number[]): tf.Tensor {
  return canWriteInPlace()
    ? tf.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape, "float32")
    : tf.zeros(shape);
}

/**
 * Copies positions `[0, count)` of `source [B, H, S, D]` into positions `[at, at + count)` of `target [B, H, C, D]`,
 * in place, on backends that keep tensors in host memory. `target` must come from {@link exclusiveZeros} (or
 * otherwise share its buffer with no tensor that must not change), and nothing may hold a gradient through it.
 *
 * @returns false, writing nothing, when the backend keeps tensors elsewhere (webgpu, wasm): use `tf.concat` then.
 */
export function writePositionsInPlace(
  target: tf.Tensor4D,
  source: tf.Tensor4D,
  at: number,
  count = source.shape[2],
): boolean {
  const [B, H, C, D] = target.shape;
  const [Bs, Hs, S, Ds] = source.shape;
  if (Bs !== B || Hs !== H || Ds !== D) {
    throw new Error(
      `writePositionsInPlace: source [${source.shape}] does not match target [${target.shape}] outside the position axis`,
    );
  }
  if (!Number.isInteger(at) || !Number.isInteger(count) || at < 0 || count < 0 || count > S || at + count > C) {
    throw new Error(
      `writePositionsInPlace: positions [${at}, ${at + count}) of ${count} do not fit target [${target.shape}] / source [${source.shape}]`,
    );
  }
  const dst = hostValues(target);
  const src = hostValues(source);
  if (!dst || !src) return false;
  const n = count * D;
  for (let bh = 0; bh < B * H; bh++) {
    const from = bh * S * D;
    dst.set(src.subarray(from, from + n), (bh * C + at) * D);
  }
  return true;
}
