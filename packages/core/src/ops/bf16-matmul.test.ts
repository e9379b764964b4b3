// bf16MatMul against tf.matMul of the widened float32 weights: the native kernel (M = 1 GEMV split along K,
// M > 1 blocks widened for the SGEMM) on 1 and 2 threads, and the fallback on the cpu backend.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { loadAddon } from "../backends/native/addon.js";
import { BF16_MATMUL_KERNEL, Bf16Weight, bf16MatMul, fromBf16Bits, toBf16Bits } from "./bf16-matmul.js";
import { seeded } from "../testing/tensors.js";
import { describeEachBackend } from "../testing/backends.js";

/** Largest |got - want| relative to Σ|x||w| of that output (the scale of float32 summation-order error). */
function worstError(x: tf.Tensor2D, w: tf.Tensor2D, got: tf.Tensor2D): number {
  return tf.tidy(() => {
    const want = tf.matMul(x, w);
    const scale = tf.add(tf.matMul(tf.abs(x), tf.abs(w)), 1e-30);
    return tf.max(tf.div(tf.abs(tf.sub(got, want)), scale)).dataSync()[0]!;
  });
}

describe("bf16 bits", () => {
  it("round to nearest even and widen exactly", () => {
    expect(toBf16Bits(1)).toBe(0x3f80);
    expect(toBf16Bits(-2)).toBe(0xc000);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1); a bit above rounds up.
    expect(fromBf16Bits(toBf16Bits(1 + 2 ** -8))).toBe(1);
    expect(fromBf16Bits(toBf16Bits(1 + 2 ** -8 + 2 ** -20))).toBe(1 + 2 ** -7);
    expect(fromBf16Bits(toBf16Bits(1 + 3 * 2 ** -8))).toBe(1 + 2 ** -6);
    expect(Number.isNaN(fromBf16Bits(toBf16Bits(NaN)))).toBe(true);
    expect(fromBf16Bits(toBf16Bits(Infinity))).toBe(Infinity);
    expect(fromBf16Bits(0x3fc0)).toBe(1.5);
  });

  it("keeps [K, N] row-major, transposes a PyTorch [out, in] source, and rejects a wrong count", () => {
    const bits = Uint16Array.from([1, 2, 3, 4, 5, 6].map((v) => toBf16Bits(v)));
    const w = Bf16Weight.fromBits(bits, [2, 3], { transpose: true });
    expect(w.shape).toEqual([3, 2]);
    expect(w.packed.shape).toEqual([3]);
    const f = w.toFloat32();
    expect(Array.from(f.dataSync())).toEqual([1, 4, 2, 5, 3, 6]);
    f.dispose();
    w.dispose();
    expect(() => Bf16Weight.fromBits(bits, [4, 2])).toThrow(/6 values for \[4,2\]/);
  });
});

describeEachBackend("bf16MatMul on native", ["native"], () => {
  let threads = 0;
  beforeAll(() => {
    threads = loadAddon().info().threads;
  });
  afterAll(() => {
    loadAddon().setThreads(threads);
  });

  // [M, K, N]: up to 16 rows streamed (N past one column block, K split in parts, odd K·N, groups of four rows
  // and a remainder), more rows widened for the SGEMM (the last one, over 8M values, in two column blocks).
  const shapes: Array<[number, number, number]> = [
    [1, 3, 5],
    [1, 77, 300],
    [1, 1000, 130],
    [1, 513, 2049],
    [1, 1025, 17],
    [2, 1025, 17],
    [5, 77, 33],
    [7, 513, 2049],
    [16, 300, 301],
    [17, 300, 301],
    [64, 96, 700],
    [17, 130, 65000],
  ];
  for (const t of [1, 2]) {
    for (const [m, k, n] of shapes) {
      it(`[${m}, ${k}] · [${k}, ${n}] on ${t} thread(s) equals the float32 product of the widened weight`, () => {
        expect(tf.getKernel(BF16_MATMUL_KERNEL, tf.getBackend())).toBeDefined();
        loadAddon().setThreads(t);
        const x = seeded([m, k], m * 31 + k) as tf.Tensor2D;
        const source = seeded([n, k], k * 7 + n, 0.5) as tf.Tensor2D; // PyTorch [out, in]
        const bits = Uint16Array.from(source.dataSync(), (v) => toBf16Bits(v));
        const w = Bf16Weight.fromBits(bits, [n, k], { transpose: true });
        const wide = w.toFloat32();
        const before = tf.memory().numTensors;
        const y = bf16MatMul(x, w);
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(y.shape).toEqual([m, n]);
        expect(worstError(x, wide, y)).toBeLessThan(2e-6);
        tf.dispose([x, source, wide, y]);
        w.dispose();
      });
    }
  }

  it("a wrong weight (one bit flipped) is caught by the comparison", () => {
    const x = seeded([1, 64], 1) as tf.Tensor2D;
    const bits = Uint16Array.from(seeded([64, 40], 2).dataSync(), (v) => toBf16Bits(v));
    const w = Bf16Weight.fromBits(bits, [64, 40]);
    bits[5 * 40 + 7]! ^= 0x4000;
    const other = Bf16Weight.fromBits(bits, [64, 40]);
    const wide = other.toFloat32();
    const y = bf16MatMul(x, w);
    expect(worstError(x, wide, y)).toBeGreaterThan(1e-3);
    tf.dispose([x, wide, y]);
    w.dispose();
    other.dispose();
  });

  it("refuses to run under a gradient tape", () => {
    const w = Bf16Weight.fromFloat32(new Float32Array(6).fill(1), [3, 2]);
    const x = tf.ones([1, 3]) as tf.Tensor2D;
    expect(() => tf.grad((z: tf.Tensor) => tf.sum(bf16MatMul(z as tf.Tensor2D, w)))(x)).toThrow(/inference only/);
    x.dispose();
    w.dispose();
  });
});

describeEachBackend("bf16MatMul fallback (cpu backend)", ["cpu"], () => {
  it("widens once and multiplies in float32", () => {
    const x = seeded([3, 21], 5) as tf.Tensor2D;
    const w = Bf16Weight.fromTensor(seeded([21, 9], 6) as tf.Tensor2D);
    const wide = w.toFloat32();
    const y = bf16MatMul(x, w);
    const before = tf.memory().numTensors;
    bf16MatMul(x, w).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(worstError(x, wide, y)).toBeLessThan(1e-6);
    tf.dispose([x, wide, y]);
    w.dispose();
  });
});
