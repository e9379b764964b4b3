import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { fusedAttention, MASKED_SCORE } from "./fused-attention.js";
import { maxAbsDiff, seeded } from "../testing/tensors.js";

/** Attention written out as the models do it, with the mask built on the host: scores, mask, softmax, values. */
function plainAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  o: { causal?: boolean; window?: number; offset?: number; mask?: tf.Tensor },
) {
  const [, H, Tq, D] = q.shape;
  const [, Hkv, Tk] = k.shape;
  const rep = (t: tf.Tensor4D) =>
    tf.concat(
      Array.from({ length: H }, (_, h) => tf.slice(t, [0, Math.floor(h / (H / Hkv)), 0, 0], [-1, 1, -1, -1])),
      1,
    );
  const offset = o.offset ?? Tk - Tq;
  const bias = new Float32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++)
    for (let j = 0; j < Tk; j++) {
      const p = offset + i;
      if ((o.causal && j > p) || (o.window && p - j >= o.window)) bias[i * Tk + j] = MASKED_SCORE;
    }
  let s = tf.add(tf.div(tf.matMul(q, rep(k), false, true), Math.sqrt(D)), tf.tensor2d(bias, [Tq, Tk]));
  if (o.mask) s = tf.add(s, o.mask);
  return tf.matMul(tf.softmax(s), rep(v));
}

const cases: Array<{
  name: string;
  q: number[];
  kv: number[];
  o: { causal?: boolean; window?: number; offset?: number; mask?: number[] };
}> = [
  { name: "ViT (no mask, T=17, D=16)", q: [2, 3, 17, 16], kv: [2, 3, 17, 16], o: {} },
  { name: "causal prefill", q: [1, 2, 9, 8], kv: [1, 2, 9, 8], o: { causal: true } },
  { name: "causal with sliding window 4", q: [1, 2, 10, 8], kv: [1, 2, 10, 8], o: { causal: true, window: 4 } },
  { name: "decode step after a 7-token cache (offset 7)", q: [2, 2, 1, 8], kv: [2, 2, 8, 8], o: { causal: true } },
  {
    name: "two new tokens on a cache with a window",
    q: [1, 4, 2, 8],
    kv: [1, 4, 12, 8],
    o: { causal: true, window: 5, offset: 10 },
  },
  {
    name: "grouped-query heads (4 q heads on 2 kv heads) with a padding mask",
    q: [2, 4, 5, 8],
    kv: [2, 2, 5, 8],
    o: { causal: true, mask: [2, 1, 1, 5] },
  },
  { name: "more keys than one 64-key chunk, D=72", q: [1, 1, 3, 72], kv: [1, 1, 150, 72], o: {} },
];

describe("fusedAttention", () => {
  for (const c of cases) {
    it(`equals the plain composition: ${c.name}`, async () => {
      const q = seeded(c.q, 21, 1.5) as tf.Tensor4D;
      const k = seeded(c.kv, 22, 1.5) as tf.Tensor4D;
      const v = seeded(c.kv, 23) as tf.Tensor4D;
      const mask = c.o.mask ? tf.mul(tf.cast(tf.greater(seeded(c.o.mask, 24), 0.5), "float32"), -1e9) : undefined;
      const o = { ...c.o, mask };
      const got = fusedAttention(q, k, v, o);
      expect(got.shape).toEqual(c.q);
      expect(await maxAbsDiff(got, plainAttention(q, k, v, o))).toBeLessThan(2e-5);
      const w = seeded(c.q, 25);
      const g1 = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(fusedAttention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, o), w)),
      )([q, k, v]);
      const g2 = tf.grads((a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(plainAttention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, o), w)),
      )([q, k, v]);
      for (let i = 0; i < 3; i++) expect(await maxAbsDiff(g1[i], g2[i])).toBeLessThan(5e-5);
    });
  }

  it("rejects incompatible shapes and masks", () => {
    const q = tf.zeros([1, 3, 4, 8]) as tf.Tensor4D;
    expect(() =>
      fusedAttention(q, tf.zeros([1, 2, 4, 8]) as tf.Tensor4D, tf.zeros([1, 2, 4, 8]) as tf.Tensor4D),
    ).toThrow(/multiple of Hkv/);
    expect(() => fusedAttention(q, q, q, { mask: tf.zeros([2, 1, 1, 4]) })).toThrow(/does not broadcast/);
  });

  it("leaks no tensor", () => {
    const q = seeded([1, 2, 6, 8], 26) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() => {
        tf.grads((a: tf.Tensor) => tf.sum(fusedAttention(a as tf.Tensor4D, q, q, { causal: true, window: 3 })))([q]);
      });
    step(); // warm-up: TF.js keeps some constants on first use
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
