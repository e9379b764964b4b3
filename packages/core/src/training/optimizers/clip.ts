import { tf } from "../../tf.js";
import { FusedKernelName, hasFusedKernel, runFusedKernelOutputs } from "../../ops/fused-kernel.js";
import type { NamedTensors } from "./optimizer.js";

/** Result of {@link clipByGlobalNorm}. The caller disposes every tensor in it. */
export interface ClippedGradients {
  /** The gradients scaled by `min(1, maxNorm / (norm + 1e-6))`, same names and shapes as the input. */
  grads: NamedTensors;
  /** The global L2 norm of the input gradients (before clipping), a float32 scalar on the device. */
  norm: tf.Scalar;
}

// Reference: PyTorch `torch.nn.utils.clip_grad_norm_` (torch/nn/utils/clip_grad.py).
/**
 * Scales gradients so that their global L2 norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`
 * (norm type 2): `norm = √(Σ‖g‖²)`, `coef = min(1, maxNorm / (norm + 1e-6))`, every gradient × `coef`.
 * A non-finite norm propagates into the gradients (PyTorch's `error_if_nonfinite=False`). Reads nothing back
 * to the host; the input tensors stay owned by the caller.
 */
export function clipByGlobalNorm(grads: NamedTensors, maxNorm: number): ClippedGradients {
  if (!(maxNorm > 0)) throw new Error(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const names = Object.keys(grads);
  if (names.length === 0) throw new Error("clipByGlobalNorm: no gradients");
  const fused = fusedClip(grads, maxNorm);
  if (fused) {
    const [norm, ...scaled] = fused;
    return { grads: Object.fromEntries(names.map((n, i) => [n, scaled[i]!])), norm: norm as tf.Scalar };
  }
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    const coef = tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)), 1);
    const out: NamedTensors = {};
    for (const n of names) out[n] = tf.mul(grads[n]!, coef);
    return { grads: out, norm };
  });
}

/** `√(Σ‖g‖²)` over all tensors, a float32 scalar. */
export function globalNorm(grads: NamedTensors): tf.Scalar {
  const fused = fusedClip(grads, 0);
  if (fused) return fused[0] as tf.Scalar;
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(squares.length === 1 ? squares[0]! : tf.addN(squares)) as tf.Scalar;
  });
}

/** [norm, ...clipped] (clipped only when maxNorm > 0) from the backend's one-pass kernel, or undefined without it. */
function fusedClip(grads: NamedTensors, maxNorm: number): tf.Tensor[] | undefined {
  const list = Object.values(grads);
  if (!hasFusedKernel(FusedKernelName.clipByGlobalNorm) || list.some((g) => g.dtype !== "float32")) return undefined;
  const inputs = Object.fromEntries(list.map((g, i) => [`g${i}`, g]));
  return runFusedKernelOutputs(FusedKernelName.clipByGlobalNorm, inputs, { maxNorm });
}
