import { tf } from "../tf.js";
import {
  customGradOp,
  FusedKernelName,
  gradientsRecorded,
  hasFusedKernel,
  runFusedKernel,
  runFusedKernelOutputs,
} from "./fused-kernel.js";
import { checkVector, leadingAxes } from "./layer-norm.js";

/** Activations {@link biasActivation} fuses: exact-erf GELU, tanh-approximated GELU, SiLU (swish). */
export type Activation = "gelu" | "gelu_tanh" | "silu";

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

// Reference: PyTorch `torch.nn.functional.gelu` (approximate "none" | "tanh") and `silu`, of `x + bias`.
/**
 * `act(x + bias)` in one pass, with `bias` broadcast over the last axis (a Linear layer's bias followed by
 * its activation).
 *
 * @param x `[..., C]` float32.
 * @param bias `[C]`, or null for `act(x)`.
 * @param activation `gelu` (exact erf, as PyTorch `nn.GELU()` and timm), `gelu_tanh` (`approximate='tanh'`,
 *   Hugging Face `gelu_new`/`gelu_pytorch_tanh`) or `silu` (Phi-3's MLP gate).
 * @returns `[..., C]`. One fused kernel on `webgpu` and `native`; the gradient (to x and bias) is the closed form.
 */
export function biasActivation<T extends tf.Tensor>(x: T, bias: tf.Tensor | null, activation: Activation): T {
  const C = x.shape[x.rank - 1];
  if (bias) checkVector("biasActivation", "bias", bias, C);
  if (!["gelu", "gelu_tanh", "silu"].includes(activation)) {
    throw new Error(`biasActivation: unknown activation '${activation}' (expected gelu, gelu_tanh or silu)`);
  }
  const forward = (z: tf.Tensor): tf.Tensor =>
    hasFusedKernel(FusedKernelName.biasActivation)
      ? tf.reshape(
          runFusedKernel(
            FusedKernelName.biasActivation,
            bias ? { x: tf.reshape(z, [-1, C]), bias } : { x: tf.reshape(z, [-1, C]) },
            { activation },
          ),
          z.shape,
        )
      : activationReference(bias ? tf.add(z, bias) : z, activation);
  if (!bias) {
    const op = customGradOp(([xi], save) => {
      save([xi]);
      return {
        value: forward(xi),
        gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => biasActivationGrad(dy, xs!, null, activation),
      };
    });
    return op(x) as T;
  }
  const op = customGradOp(([xi, b], save) => {
    save([xi, b]);
    return {
      value: forward(xi),
      gradFunc: (dy: tf.Tensor, [xs, bs]: tf.Tensor[]) => biasActivationGrad(dy, xs!, bs!, activation),
    };
  });
  return op(x, bias) as T;
}

// Reference: PyTorch `GeluBackwardKernelImpl` and `silu_backward` (aten/src/ATen/native/cpu/Activation.cpp).
/**
 * The gradients of {@link biasActivation}: `dx = dy · act'(x + bias)` and, with a bias, `dbias = Σ dx` over the
 * leading axes. One fused kernel on `native`; the closed form as TF.js ops elsewhere.
 *
 * @param dy `[..., C]` upstream gradient.
 * @param x `[..., C]` the op's input.
 * @param bias `[C]`, or null.
 * @returns `[dx]` (`[..., C]`), or `[dx, dbias]` with a bias.
 */
export function biasActivationGrad(
  dy: tf.Tensor,
  x: tf.Tensor,
  bias: tf.Tensor | null,
  activation: Activation,
): tf.Tensor[] {
  return tf.tidy(() => {
    if (hasFusedKernel(FusedKernelName.biasActivationGrad)) {
      const C = x.shape[x.rank - 1];
      const flat = { dy: tf.reshape(dy, [-1, C]), x: tf.reshape(x, [-1, C]) };
      const [dx, db] = runFusedKernelOutputs(FusedKernelName.biasActivationGrad, bias ? { ...flat, bias } : flat, {
        activation,
      });
      return db ? [tf.reshape(dx!, x.shape), db] : [tf.reshape(dx!, x.shape)];
    }
    const dz = tf.mul(dy, activationDerivative(bias ? tf.add(x, bias) : x, activation));
    return bias ? [dz, tf.sum(dz, leadingAxes(dz))] : [dz];
  });
}

// Reference: PyTorch `torch.nn.Linear` followed by its activation (timm `Mlp.fc1` + `act`).
/**
 * A linear layer and its activation, `act(x · weight + bias)`. On a backend with the fused kernel (`native`), one
 * matrix product whose epilogue adds the bias and applies the activation to each block of rows while it is in
 * cache; under a gradient tape the epilogue also keeps the product `x · weight` for the backward (the activation's
 * gradient, which sums the bias gradient in the same pass, then the product's). Elsewhere `tf.matMul`, then
 * {@link biasActivation} with the bias.
 *
 * @param x `[N, in]` float32.
 * @param weight `[in, out]`.
 * @param bias `[out]`, or null.
 * @returns `[N, out]`.
 */
export function linearActivation(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor | null,
  activation: Activation,
): tf.Tensor2D {
  if (x.rank !== 2 || weight.rank !== 2 || x.shape[1] !== weight.shape[0]) {
    throw new Error(`linearActivation: x [${x.shape}] and weight [${weight.shape}] must be [N, in] and [in, out]`);
  }
  if (bias) checkVector("linearActivation", "bias", bias, weight.shape[1]);
  if (!["gelu", "gelu_tanh", "silu"].includes(activation)) {
    throw new Error(`linearActivation: unknown activation '${activation}' (expected gelu, gelu_tanh or silu)`);
  }
  if (hasFusedKernel(FusedKernelName.linearActivation)) {
    if (!gradientsRecorded()) {
      return runFusedKernel(FusedKernelName.linearActivation, bias ? { x, weight, bias } : { x, weight }, {
        activation,
      }) as tf.Tensor2D;
    }
    return linearActivationTraining(x, weight, bias, activation);
  }
  // The bias goes to biasActivation, not the product: its backward then sums the bias gradient in the same pass
  // that computes dx, instead of a separate reduction over [N, out].
  return tf.tidy(() => biasActivation(tf.matMul(x, weight), bias, activation) as tf.Tensor2D);
}

// The fused kernel also keeps the product x · weight, from which the backward takes the activation's gradient (as
// biasActivation's does), then the product's: one pass over the [N, out] output fewer than the composition.
function linearActivationTraining(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor | null,
  activation: Activation,
): tf.Tensor2D {
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const op = customGradOp((args, save) => {
    const [xi, w, b] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor | undefined];
    const [y, product] = runFusedKernelOutputs(
      FusedKernelName.linearActivation,
      b ? { x: xi, weight: w, bias: b } : { x: xi, weight: w },
      {
        activation,
        keepProduct: true,
      },
    );
    save(b ? [xi, w, product!, b] : [xi, w, product!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [xs, ws, ps, bs] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor | undefined];
          const [dz, db] = biasActivationGrad(dy, ps, bs ?? null, activation) as [tf.Tensor2D, tf.Tensor | undefined];
          const grads = [tf.matMul(dz, ws, false, true), tf.matMul(xs, dz, true, false)];
          return db ? [...grads, db] : grads;
        }),
    };
  });
  return op(...inputs) as tf.Tensor2D;
}

// Reference: PyTorch `torch.nn.GELU` (timm `Mlp`, transformers `ACT2FN["gelu"]`).
/** Exact-erf GELU of `x + bias` (see {@link biasActivation}). */
export function gelu<T extends tf.Tensor>(x: T, options: { bias?: tf.Tensor; approximate?: "none" | "tanh" } = {}): T {
  return biasActivation(x, options.bias ?? null, options.approximate === "tanh" ? "gelu_tanh" : "gelu");
}

// Reference: PyTorch `torch.nn.SiLU` (transformers `ACT2FN["silu"]`).
/** SiLU (`z * sigmoid(z)`) of `z = x + bias` (see {@link biasActivation}). */
export function silu<T extends tf.Tensor>(x: T, options: { bias?: tf.Tensor } = {}): T {
  return biasActivation(x, options.bias ?? null, "silu");
}

/** The activation as plain TF.js ops (what the fused op computes on backends without the kernel). */
export function activationReference(z: tf.Tensor, activation: Activation): tf.Tensor {
  return tf.tidy(() => {
    switch (activation) {
      case "gelu":
        return tf.mul(tf.mul(z, 0.5), tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))));
      case "gelu_tanh":
        return tf.mul(
          tf.mul(z, 0.5),
          tf.add(1, tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(z, tf.mul(0.044715, tf.pow(z, 3)))))),
        );
      case "silu":
        return tf.mul(z, tf.sigmoid(z));
    }
  });
}

/** d act(z) / dz. */
function activationDerivative(z: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case "gelu": {
      const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.mul(z, Math.SQRT1_2))));
      const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(z))));
      return tf.add(cdf, tf.mul(z, pdf));
    }
    case "gelu_tanh": {
      const t = tf.tanh(tf.mul(SQRT_2_OVER_PI, tf.add(z, tf.mul(0.044715, tf.pow(z, 3)))));
      const dInner = tf.mul(SQRT_2_OVER_PI, tf.add(1, tf.mul(3 * 0.044715, tf.square(z))));
      return tf.add(tf.mul(0.5, tf.add(1, t)), tf.mul(tf.mul(tf.mul(0.5, z), tf.sub(1, tf.square(t))), dInner));
    }
    case "silu": {
      const s = tf.sigmoid(z);
      return tf.mul(s, tf.add(1, tf.mul(z, tf.sub(1, s))));
    }
  }
}
