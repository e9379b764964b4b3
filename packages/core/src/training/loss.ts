import { tf } from "../tf.js";

/** Options of {@link crossEntropy}, as `torch.nn.functional.cross_entropy`. */
export interface CrossEntropyOptions {
  /** ε in [0,1]: the target is `(1 − ε)·onehot + ε/C`. Default 0. */
  labelSmoothing?: number;
  /** Labels equal to this contribute nothing and are not counted in the mean. Default -100. */
  ignoreIndex?: number;
  /** `mean` over non-ignored items (default), `sum`, or `none` (per item, 0 where ignored). */
  reduction?: "mean" | "sum" | "none";
}

// Reference: PyTorch `torch.nn.functional.cross_entropy` (label_smoothing, ignore_index, reduction).
/**
 * Cross-entropy of logits against integer class labels, exactly as `torch.nn.functional.cross_entropy`
 * with the class axis last:
 *
 * - `logits` `[N,C]` or `[B,T,C]` (any rank ≥ 2, classes on the last axis), float32;
 * - `labels` `[N]` or `[B,T]` (the leading shape of `logits`), int32, each in `[0,C)` or `ignoreIndex`.
 *
 * Per item, with `logp = log_softmax(logits)`: `ℓ = −(1 − ε)·logp[y] − (ε/C)·Σ_c logp[c]`; ignored items give 0.
 * `mean` divides the sum by the number of non-ignored items (NaN when all are ignored, as PyTorch).
 * Returns a scalar, or for `none` a tensor of the labels' shape. A label outside `[0,C)` that is not
 * `ignoreIndex` makes its item (and so the mean or sum) NaN: PyTorch raises there, but checking would need a
 * read-back, so the bad value surfaces through the `Trainer`'s non-finite guard instead.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor, options: CrossEntropyOptions = {}): tf.Tensor {
  const eps = options.labelSmoothing ?? 0;
  const ignoreIndex = options.ignoreIndex ?? -100;
  const reduction = options.reduction ?? "mean";
  if (!(eps >= 0 && eps <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0,1], got ${eps}`);
  if (logits.rank < 2)
    throw new Error(`crossEntropy: logits must have rank ≥ 2 ([N,C] or [B,T,C]), got [${logits.shape}]`);
  const lead = logits.shape.slice(0, -1);
  if (labels.rank !== lead.length || !labels.shape.every((d, i) => d === lead[i])) {
    throw new Error(
      `crossEntropy: labels [${labels.shape}] must have the leading shape [${lead}] of logits [${logits.shape}]`,
    );
  }
  if (labels.dtype !== "int32") throw new Error(`crossEntropy: labels must be int32, got ${labels.dtype}`);
  const C = logits.shape[logits.rank - 1]!;
  const N = labels.size;
  return tf.tidy(() => {
    const x = tf.reshape(logits.dtype === "float32" ? logits : tf.cast(logits, "float32"), [N, C]);
    const y = tf.reshape(labels, [N]);
    const notIgnored = tf.notEqual(y, ignoreIndex);
    const inRange = tf.logicalAnd(tf.greaterEqual(y, 0), tf.less(y, C));
    const valid = tf.logicalAnd(notIgnored, inRange);
    const bad = tf.logicalAnd(notIgnored, tf.logicalNot(inRange));
    const safeY = tf.where(valid, y, tf.zerosLike(y));
    const lse = tf.logSumExp(x, 1); // [N]
    const picked = pickColumns(x, safeY); // x[i, y_i]; logp[y] = x[y] − lse
    let perItem = tf.sub(lse, picked); // −logp[y]
    if (eps > 0) {
      const smooth = tf.sub(lse, tf.mean(x, 1)); // −(1/C)·Σ_c logp[c]
      perItem = tf.add(tf.mul(perItem, 1 - eps), tf.mul(smooth, eps));
    }
    perItem = tf.where(valid, perItem, tf.where(bad, tf.fill([N], NaN), tf.zeros([N])));
    if (reduction === "none") return tf.reshape(perItem, labels.shape);
    const total = tf.sum(perItem);
    if (reduction === "sum") return total;
    const count = tf.sum(tf.cast(notIgnored, "float32"));
    return tf.div(total, count);
  });
}

// Reference: transformers `ForCausalLMLoss` (loss/loss_utils.py).
/**
 * Next-token loss of a causal language model, as Hugging Face's `ForCausalLMLoss`: the logits at position
 * `t` predict the label at `t + 1`. `logits` `[B,T,V]`, `labels` `[B,T]` int32 with `-100` (or
 * `ignoreIndex`) on positions that are not learned (prompt, padding, image slots). Returns the mean over
 * learned tokens (a scalar).
 */
export function shiftedCausalLMLoss(
  logits: tf.Tensor,
  labels: tf.Tensor,
  options: CrossEntropyOptions = {},
): tf.Scalar {
  if (logits.rank !== 3) throw new Error(`shiftedCausalLMLoss: logits must be [B,T,V], got [${logits.shape}]`);
  const [B, T, V] = logits.shape as [number, number, number];
  if (labels.rank !== 2 || labels.shape[0] !== B || labels.shape[1] !== T) {
    throw new Error(`shiftedCausalLMLoss: labels must be [${B},${T}], got [${labels.shape}]`);
  }
  if (T < 2) throw new Error(`shiftedCausalLMLoss: need at least 2 positions, got T=${T}`);
  return tf.tidy(() => {
    const x = tf.slice(logits, [0, 0, 0], [B, T - 1, V]);
    const y = tf.slice(labels, [0, 1], [B, T - 1]);
    return crossEntropy(x, y, { ...options, reduction: options.reduction ?? "mean" }) as tf.Scalar;
  });
}

/**
 * `x[i, y[i]]` for `x` `[N,C]`, `y` `[N]` int32 → `[N]`. Forward is a gather from the flat logits; the
 * gradient is `onehot(y)·dy`, written here because TF.js's gather gradient needs `UnsortedSegmentSum`,
 * which the wasm backend lacks.
 */
function pickColumns(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const [N, C] = x.shape as [number, number];
  const pick = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [logits, labels, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([labels]);
    const flatIndex = tf.add(tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(C, "int32")), labels);
    return {
      value: tf.gather(tf.reshape(logits, [N * C]), flatIndex),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.mul(tf.oneHot(saved[0]!, C), tf.expandDims(dy, 1)),
        tf.zerosLike(saved[0]!),
      ],
    };
  });
  return pick(x, y);
}
