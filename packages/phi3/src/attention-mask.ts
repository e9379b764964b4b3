import { tf } from "@birdvlm/core";

/** Value added to the scores of keys a query must not see. */
export const MASKED = -1e9;

/**
 * Additive attention bias `[B or 1, 1, T, S]` (0 where allowed, `MASKED` elsewhere) for `T` new queries at
 * sequence indices `past..past+T-1` over `S = past + T` keys: key j is visible from query i when j ≤ i, when
 * `i - j < slidingWindow` (if set) and when `attentionMask[b, j]` is 1. Returns `null` when nothing is masked.
 */
export function attentionBias(
  queries: number,
  past: number,
  attentionMask: tf.Tensor2D | undefined,
  slidingWindow: number | null,
): tf.Tensor4D | null {
  const keys = past + queries;
  if (attentionMask && attentionMask.shape[1] !== keys) {
    throw new Error(
      `attentionMask: expected [B, ${keys}] (cached ${past} + new ${queries}), got [${attentionMask.shape}]`,
    );
  }
  const windowed = slidingWindow !== null && keys > slidingWindow;
  if (!attentionMask && queries === 1 && !windowed) return null;
  return tf.tidy(() => {
    const qi = tf.reshape(tf.range(past, keys, 1, "int32"), [queries, 1]);
    const kj = tf.reshape(tf.range(0, keys, 1, "int32"), [1, keys]);
    let allowed = tf.lessEqual(kj, qi);
    if (windowed) allowed = tf.logicalAnd(allowed, tf.less(tf.sub(qi, kj), slidingWindow!));
    let ok: tf.Tensor = tf.reshape(allowed, [1, 1, queries, keys]);
    if (attentionMask) {
      const b = attentionMask.shape[0];
      ok = tf.logicalAnd(ok, tf.reshape(tf.greater(attentionMask, 0), [b, 1, 1, keys]));
    }
    const shape = ok.shape as [number, number, number, number];
    return tf.where(ok, tf.zeros(shape), tf.fill(shape, MASKED)) as tf.Tensor4D;
  });
}
