import { tf } from "../tf.js";
import {
  customGradOp,
  FusedKernelName,
  hasFusedKernel,
  runFusedKernel,
  runFusedKernelOutputs,
} from "./fused-kernel.js";

// Reference: PyTorch `torch.nn.LayerNorm` / `torch.nn.functional.layer_norm`.
/**
 * LayerNorm over the last axis, as PyTorch's `nn.LayerNorm` (biased variance):
 * `(x - mean) / sqrt(var + eps) * gamma + beta`.
 *
 * @param x `[..., C]` float32.
 * @param gamma `[C]` scale.
 * @param beta `[C]` shift.
 * @param eps added to the variance (timm ViT 1e-6, Hugging Face ViT 1e-12).
 * @returns `[..., C]`. One fused kernel on `webgpu` and `native`; the gradient (to x, gamma, beta) is the closed
 * form.
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): T {
  const C = x.shape[x.rank - 1];
  checkVector("layerNorm", "gamma", gamma, C);
  checkVector("layerNorm", "beta", beta, C);
  const op = customGradOp(([xi, g, b], save) => {
    save([xi, g]);
    const value = hasFusedKernel(FusedKernelName.layerNorm)
      ? tf.reshape(
          runFusedKernel(FusedKernelName.layerNorm, { x: tf.reshape(xi, [-1, C]), gamma: g, beta: b }, { eps }),
          xi.shape,
        )
      : layerNormReference(xi, g, b, eps);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, gs] = saved;
        if (hasFusedKernel(FusedKernelName.layerNormGrad))
          return normGradKernel(FusedKernelName.layerNormGrad, dy, xs!, gs!, eps);
        return tf.tidy(() => {
          const { xhat, rstd } = normalized(xs, eps);
          const dxhat = tf.mul(dy, gs);
          const dx = tf.mul(
            rstd,
            tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xhat, tf.mean(tf.mul(dxhat, xhat), -1, true))),
          );
          const lead = leadingAxes(dy);
          return [dx, tf.sum(tf.mul(dy, xhat), lead), tf.sum(dy, lead)];
        });
      },
    };
  });
  return op(x, gamma, beta) as T;
}

/** LayerNorm as plain TF.js ops (what `layerNorm` computes on backends without the fused kernel). */
export function layerNormReference(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  return tf.tidy(() => tf.add(tf.mul(normalized(x, eps).xhat, gamma), beta));
}

function normalized(x: tf.Tensor, eps: number): { xhat: tf.Tensor; rstd: tf.Tensor } {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
  return { xhat: tf.mul(centered, rstd), rstd };
}

/**
 * A row norm's gradients through its fused backward kernel (`BirdVLMLayerNormGrad` → dx, dgamma, dbeta;
 * `BirdVLMRmsNormGrad` → dx, dweight), over x `[..., C]` seen as `[N, C]`.
 */
export function normGradKernel(name: string, dy: tf.Tensor, x: tf.Tensor, gamma: tf.Tensor, eps: number): tf.Tensor[] {
  return tf.tidy(() => {
    const C = x.shape[x.rank - 1];
    const [dx, ...rest] = runFusedKernelOutputs(
      name,
      { dy: tf.reshape(dy, [-1, C]), x: tf.reshape(x, [-1, C]), gamma },
      { eps },
    );
    return [tf.reshape(dx!, x.shape), ...rest];
  });
}

/** The axes of `t` but its last: what a per-channel parameter's gradient sums over. */
export function leadingAxes(t: tf.Tensor): number[] {
  return Array.from({ length: t.rank - 1 }, (_, i) => i);
}

/** Throws unless `t` is a vector of length `C`. */
export function checkVector(op: string, name: string, t: tf.Tensor, C: number): void {
  if (t.rank !== 1 || t.shape[0] !== C) {
    throw new Error(`${op}: ${name} has shape [${t.shape}], expected [${C}] (the last axis of x)`);
  }
}
