import { tf } from "@birdvlm/core";

/**
 * Writes image embeddings into the marker positions of text embeddings, differentiably: a one-hot placement
 * `[B,T,K]` times the image embeddings, plus the text embeddings where there is no marker (matmul and multiply
 * only, so it trains on every backend; gradients flow to both inputs).
 *
 * @param textEmbeds `[B, T, D]` embeddings of the ids.
 * @param ids the `[B][T]` ids on the host (the marker positions are found there).
 * @param imageEmbeds `[B, K, D]`; row b's K embeddings go, in order, to row b's K marker positions.
 * @param markerId the image marker's id.
 * @returns `[B, T, D]`.
 */
export function mergeImageEmbeddings(
  textEmbeds: tf.Tensor3D,
  ids: readonly (readonly number[])[],
  imageEmbeds: tf.Tensor3D,
  markerId: number,
): tf.Tensor3D {
  const [b, t, d] = textEmbeds.shape;
  const [bi, k, di] = imageEmbeds.shape;
  if (bi !== b || di !== d)
    throw new Error(
      `mergeImageEmbeddings: image embeddings [${imageEmbeds.shape}] do not fit text embeddings [${textEmbeds.shape}]`,
    );
  const place = new Float32Array(b * t * k);
  const keep = new Float32Array(b * t).fill(1);
  for (let r = 0; r < b; r++) {
    const row = ids[r]!;
    if (row.length !== t)
      throw new Error(`mergeImageEmbeddings: ids row ${r} has ${row.length} tokens, embeddings have ${t}`);
    let next = 0;
    for (let c = 0; c < t; c++) {
      if (row[c] !== markerId) continue;
      if (next >= k) throw new Error(`mergeImageEmbeddings: row ${r} holds more than ${k} image markers`);
      place[(r * t + c) * k + next++] = 1;
      keep[r * t + c] = 0;
    }
    if (next !== k) throw new Error(`mergeImageEmbeddings: row ${r} holds ${next} image markers, expected ${k}`);
  }
  return tf.tidy(() => {
    const placed = tf.matMul(tf.tensor3d(place, [b, t, k]), imageEmbeds);
    return tf.add(tf.mul(textEmbeds, tf.tensor3d(keep, [b, t, 1])), placed) as tf.Tensor3D;
  });
}
