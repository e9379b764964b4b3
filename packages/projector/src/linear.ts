import { Module, tf } from "@birdvlm/core";

/**
 * A fully connected layer `y = x W + b`: `[..., in]` → `[..., out]`. The weight is kept `[in, out]` and named
 * `weight` in PyTorch's `[out, in]` layout, so state dicts match `nn.Linear`. Initialized like PyTorch
 * (uniform in ±1/√in).
 */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    seed?: number,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.registerParameter(
      "weight",
      tf.randomUniform([inFeatures, outFeatures], -bound, bound, "float32", seed),
      { transposed: true },
    );
    this.bias = this.registerParameter(
      "bias",
      tf.randomUniform([outFeatures], -bound, bound, "float32", seed === undefined ? undefined : seed + 1),
    );
  }

  /** `[..., in]` → `[..., out]`. */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const shape = x.shape;
      const flat = tf.reshape(x, [-1, this.inFeatures]);
      const y = tf.add(tf.matMul(flat, this.weight), this.bias);
      return tf.reshape(y, [...shape.slice(0, -1), this.outFeatures]);
    });
  }
}
