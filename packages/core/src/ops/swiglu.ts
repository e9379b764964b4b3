import { tf } from "../tf.js";
import { customGradOp, FusedKernelName, hasFusedKernel, runFusedKernel } from "./fused-kernel.js";

// Reference: transformers `Phi3MLP.forward` (models/phi3/modeling_phi3.py): `up_states * act_fn(gate)`.
/**
 * Phi-3's gated MLP activation on the output of its fused `gate_up_proj`: with `gate, up = chunk(x, 2, -1)`,
 * returns `up * silu(gate)` (Hugging Face `Phi3MLP`). One fused kernel on `webgpu` and `native` instead of a
 * split, a sigmoid and two products.
 *
 * @param gateUp `[..., 2I]` float32: the gate in the first half of the last axis, the up projection in the second.
 * @returns `[..., I]`. The gradient (to gateUp) is the closed form.
 */
export function swiglu<T extends tf.Tensor>(gateUp: T): T {
  const width = gateUp.shape[gateUp.rank - 1];
  if (width % 2 !== 0)
    throw new Error(`swiglu: the last axis of gateUp has odd size ${width} (expected gate and up halves)`);
  const I = width / 2;
  const outShape = [...gateUp.shape.slice(0, -1), I];
  const op = customGradOp(([x], save) => {
    save([x]);
    const value = hasFusedKernel(FusedKernelName.swiglu)
      ? tf.reshape(runFusedKernel(FusedKernelName.swiglu, { x: tf.reshape(x, [-1, width]) }, {}), outShape)
      : swigluReference(x);
    return {
      value,
      gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) =>
        tf.tidy(() => {
          const [gate, up] = tf.split(xs, 2, -1);
          const s = tf.sigmoid(gate);
          const silu = tf.mul(gate, s);
          const dSilu = tf.mul(s, tf.add(1, tf.mul(gate, tf.sub(1, s))));
          return [tf.concat([tf.mul(tf.mul(dy, up), dSilu), tf.mul(dy, silu)], -1)];
        }),
    };
  });
  return op(gateUp) as T;
}

/** `up * silu(gate)` as plain TF.js ops (what `swiglu` computes on backends without the fused kernel). */
export function swigluReference(gateUp: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [gate, up] = tf.split(gateUp, 2, -1);
    return tf.mul(up, tf.mul(gate, tf.sigmoid(gate)));
  });
}
