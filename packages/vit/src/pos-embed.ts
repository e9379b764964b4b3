import { tf } from "@birdvlm/core";

/** Options of {@link resamplePosEmbed}. */
export interface ResampleOptions {
  /** Tokens before the grid (class token) that are kept as they are. Default 1. */
  numPrefixTokens?: number;
  /**
   * `true` (timm's `resample_abs_pos_embed` default): PyTorch's antialiased bicubic (Keys a = -0.5, taps
   * renormalized at the borders, widened when shrinking). `false` (Hugging Face's `interpolate_pos_encoding`):
   * plain bicubic (a = -0.75, border taps clamped). Default `true`.
   */
  antialias?: boolean;
}

function cubicPlain(x: number, a: number): number {
  const ax = Math.abs(x);
  if (ax <= 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return ((a * ax - 5 * a) * ax + 8 * a) * ax - 4 * a;
  return 0;
}

/**
 * The `[outSize, inSize]` matrix of PyTorch's `F.interpolate(mode='bicubic', align_corners=False)` along one
 * axis: row `i` holds the weights of the input samples that make output `i`.
 */
export function bicubicWeights(inSize: number, outSize: number, antialias: boolean): Float32Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  if (!antialias) {
    const a = -0.75;
    for (let i = 0; i < outSize; i++) {
      const real = scale * (i + 0.5) - 0.5;
      const ix = Math.floor(real);
      const t = real - ix;
      const coeffs = [cubicPlain(t + 1, a), cubicPlain(t, a), cubicPlain(1 - t, a), cubicPlain(2 - t, a)];
      for (let k = 0; k < 4; k++) {
        const j = Math.min(Math.max(ix - 1 + k, 0), inSize - 1);
        m[i * inSize + j] += coeffs[k]!;
      }
    }
  } else {
    const a = -0.5;
    const support = scale >= 1 ? 2 * scale : 2;
    const invScale = scale >= 1 ? 1 / scale : 1;
    for (let i = 0; i < outSize; i++) {
      const center = scale * (i + 0.5);
      const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
      const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
      let total = 0;
      const w: number[] = [];
      for (let j = xmin; j < xmax; j++) {
        const v = cubicPlain((j - center + 0.5) * invScale, a);
        w.push(v);
        total += v;
      }
      for (let j = xmin; j < xmax; j++) m[i * inSize + j] = total !== 0 ? w[j - xmin]! / total : w[j - xmin]!;
    }
  }
  return Float32Array.from(m);
}

/**
 * Resizes a grid of position embeddings `[1, P + oldH*oldW, D]` to `[1, P + newH*newW, D]` by bicubic
 * interpolation over the grid (timm `resample_abs_pos_embed`), keeping the `P` prefix tokens. Differentiable.
 */
export function resamplePosEmbed(
  posEmbed: tf.Tensor,
  oldGrid: [number, number],
  newGrid: [number, number],
  options: ResampleOptions = {},
): tf.Tensor3D {
  const prefix = options.numPrefixTokens ?? 1;
  const antialias = options.antialias ?? true;
  const [oh, ow] = oldGrid;
  const [nh, nw] = newGrid;
  const d = posEmbed.shape[2]!;
  if (posEmbed.shape[1] !== prefix + oh * ow) {
    throw new Error(
      `resamplePosEmbed: position embeddings [${posEmbed.shape}] do not hold ${prefix} prefix tokens and a ${oh}x${ow} grid`,
    );
  }
  if (oh === nh && ow === nw) return posEmbed.clone() as tf.Tensor3D;
  return tf.tidy(() => {
    const mh = tf.tensor2d(bicubicWeights(oh, nh, antialias), [nh, oh]);
    const mw = tf.tensor2d(bicubicWeights(ow, nw, antialias), [nw, ow]);
    const grid = tf.reshape(tf.slice(posEmbed, [0, prefix, 0], [1, oh * ow, d]), [oh, ow * d]) as tf.Tensor2D;
    const rows = tf.reshape(tf.transpose(tf.reshape(tf.matMul(mh, grid), [nh, ow, d]), [1, 0, 2]), [
      ow,
      nh * d,
    ]) as tf.Tensor2D;
    const cols = tf.reshape(tf.transpose(tf.reshape(tf.matMul(mw, rows), [nw, nh, d]), [1, 0, 2]), [1, nh * nw, d]);
    if (prefix === 0) return cols as tf.Tensor3D;
    return tf.concat([tf.slice(posEmbed, [0, 0, 0], [1, prefix, d]), cols], 1) as tf.Tensor3D;
  });
}
