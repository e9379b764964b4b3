import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { mergeImageEmbeddings } from "./merge-embeddings.js";

describe("mergeImageEmbeddings", () => {
  const M = 9;
  const ids = [
    [1, M, M, 2],
    [M, 3, M, 4],
  ];
  const text = tf.reshape(tf.range(0, 2 * 4 * 2), [2, 4, 2]) as tf.Tensor3D;
  const image = tf.mul(tf.reshape(tf.range(1, 1 + 2 * 2 * 2), [2, 2, 2]), -1) as tf.Tensor3D;

  it("puts row b's K image embeddings into row b's markers, in order, text elsewhere", () => {
    const out = mergeImageEmbeddings(text, ids, image, M).arraySync();
    expect(out[0]).toEqual([
      [0, 1],
      [-1, -2],
      [-3, -4],
      [6, 7],
    ]);
    expect(out[1]).toEqual([
      [-5, -6],
      [10, 11],
      [-7, -8],
      [14, 15],
    ]);
  });

  it("passes gradients to the image embeddings at the markers and to the text elsewhere", () => {
    const [gText, gImage] = tf.grads((t: tf.Tensor, i: tf.Tensor) =>
      tf.sum(mergeImageEmbeddings(t as tf.Tensor3D, ids, i as tf.Tensor3D, M)),
    )([text, image]);
    expect(gImage!.arraySync()).toEqual([
      [
        [1, 1],
        [1, 1],
      ],
      [
        [1, 1],
        [1, 1],
      ],
    ]);
    expect((gText!.arraySync() as number[][][]).map((r) => r.map((v) => v[0]))).toEqual([
      [1, 0, 0, 1],
      [0, 1, 0, 1],
    ]);
  });

  it("rejects a row whose marker count is not K", () => {
    expect(() =>
      mergeImageEmbeddings(
        text,
        [
          [1, M, 2, 2],
          [M, 3, M, 4],
        ],
        image,
        M,
      ),
    ).toThrow(/row 0 holds 1 image markers, expected 2/);
  });

  it("leaks no tensors", () => {
    mergeImageEmbeddings(text, ids, image, M).dispose();
    const n = tf.memory().numTensors;
    mergeImageEmbeddings(text, ids, image, M).dispose();
    expect(tf.memory().numTensors).toBe(n);
  });
});
