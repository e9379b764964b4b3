import { tf } from "../tf.js";
import { customGradOp, FusedKernelName, hasFusedKernel, runFusedKernel } from "./fused-kernel.js";
import { checkVector, leadingAxes, normGradKernel } from "./layer-norm.js";

// Reference: transformers `Phi3RMSNorm` (models/phi3/modeling_phi3.py), as `LlamaRMSNorm`.
/**
 * RMSNorm over the last axis, as Phi-3/Llama: `x / sqrt(mean(x^2) + eps) * weight`.
 *
 * @param x `[..., C]` float32.
 * @param weight `[C]`.
 * @param eps added to the mean square (Phi-3: `rms_norm_eps`, 1e-5).
 * @returns `[..., C]`. One fused kernel on `webgpu` and `native`; the gradient (to x and weight) is the closed
 * form.
 */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, eps = 1e-5): T {
  const C = x.shape[x.rank - 1];
  checkVector("rmsNorm", "weight", weight, C);
  const op = customGradOp(([xi, w], save) => {
    save([xi, w]);
    const value = hasFusedKernel(FusedKernelName.rmsNorm)
      ? tf.reshape(
          runFusedKernel(FusedKernelName.rmsNorm, { x: tf.reshape(xi, [-1, C]), weight: w }, { eps }),
          xi.shape,
        )
      : rmsNormReference(xi, w, eps);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved;
        if (hasFusedKernel(FusedKernelName.rmsNormGrad))
          return normGradKernel(FusedKernelName.rmsNormGrad, dy, xs!, ws!, eps);
        return tf.tidy(() => {
          const r = inverseRms(xs, eps);
          const dyw = tf.mul(dy, ws);
          // d/dx (x r) = r dyw - x r^3 mean(dyw x)
          const dx = tf.sub(tf.mul(dyw, r), tf.mul(tf.mul(xs, tf.pow(r, 3)), tf.mean(tf.mul(dyw, xs), -1, true)));
          return [dx, tf.sum(tf.mul(dy, tf.mul(xs, r)), leadingAxes(dy))];
        });
      },
    };
  });
  return op(x, weight) as T;
}

/** RMSNorm as plain TF.js ops (what `rmsNorm` computes on backends without the fused kernel). */
export function rmsNormReference(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, inverseRms(x, eps)), weight));
}

function inverseRms(x: tf.Tensor, eps: number): tf.Tensor {
  return tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
}
