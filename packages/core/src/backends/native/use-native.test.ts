// Every kernel the native backend replaces, checked against the cpu backend's on random shapes (odd sizes,
// broadcasting, every transpose layout) and through gradients. Skips when the addon is not built, except
// under CI=true, where CI has built it and these tests must run.
import { expect, it } from "vitest";
import { tf } from "../../tf.js";
import { setNativeThreads, useNative } from "./use-native.js";
import { layerNorm } from "../../ops/layer-norm.js";
import { rmsNorm } from "../../ops/rms-norm.js";
import { biasActivation } from "../../ops/bias-activation.js";
import { describeEachBackend, valuesOn, type HostTensor } from "../../testing/backends.js";

/** Deterministic uniform values in [lo, hi). */
function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

function rand(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  return tf.tensor(
    random(
      shape.reduce((a, b) => a * b, 1),
      seed,
      lo,
      hi,
    ),
    shape,
  );
}

function expectClose(actual: Outputs, expected: Outputs, rtol = 1e-4, atol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let t = 0; t < actual.length; t++) {
    expect(actual[t].shape).toEqual(expected[t].shape);
    const a = values(actual[t]);
    const e = values(expected[t]);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < e.length; i++) {
      if (Number.isNaN(e[i]) || Number.isNaN(a[i])) {
        expect(Number.isNaN(a[i]), `NaN mismatch at ${i}`).toBe(Number.isNaN(e[i]));
        continue;
      }
      const err = Math.abs(a[i] - e[i]) - (atol + rtol * Math.abs(e[i]));
      if (err > worst) {
        worst = err;
        at = i;
      }
    }
    expect(at, at >= 0 ? `output ${t}: element ${at} is ${a[at]}, expected ${e[at]}` : "").toBe(-1);
  }
  tf.dispose([...actual, ...expected].filter((t): t is tf.Tensor => t instanceof tf.Tensor));
}

/** Outputs to compare: tensors, or values read back by `valuesOn`. */
type Outputs = Array<tf.Tensor | HostTensor>;

function values(t: tf.Tensor | HostTensor): ArrayLike<number> {
  return t instanceof tf.Tensor ? t.dataSync() : t.values;
}

async function compare(fn: () => tf.Tensor | tf.Tensor[], rtol?: number, atol?: number): Promise<void> {
  const cpu = await valuesOn("cpu", fn);
  const native = await valuesOn("native", fn);
  expectClose(native, cpu, rtol, atol);
}

describeEachBackend("native backend", ["native"], () => {
  it("reports itself with its threads and instruction set", async () => {
    const info = await useNative();
    expect(info.name).toBe("native");
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(["avx512", "avx2", "generic"]).toContain(info.details?.isa);
  });

  const sizes = [1, 3, 17, 65, 197];
  it("BatchMatMul matches cpu for odd sizes and every transpose layout", async () => {
    let seed = 1;
    for (const [m, k, n] of [
      [1, 1, 1],
      [3, 17, 65],
      [197, 64, 3],
      [65, 197, 17],
      [1, 65, 197],
      [17, 1, 3],
      [130, 300, 70],
      [30, 1100, 1000], // few rows and a weight past the caches: split by columns, several depth blocks
      [40, 2600, 420], // a weight gradient's shape: the depth cut in two slabs
      [70, 9001, 123], // eight slabs, a depth not a multiple of 8, partial tiles
    ]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = random(m * k, seed++);
          const b = random(k * n, seed++);
          // Sums of thousands of products differ in their last bits with the order of summation.
          await compare(
            () => tf.matMul(tf.tensor(a, ta ? [k, m] : [m, k]), tf.tensor(b, tb ? [n, k] : [k, n]), ta, tb),
            1e-4,
            k > 2000 ? 1e-4 : 1e-5,
          );
        }
      }
    }
    expect(sizes.length).toBe(5);
  });

  it("BatchMatMul gives the same sums on one thread as on several (the depth cut by the shape alone)", async () => {
    const [m, k, n] = [48, 5000, 240];
    const a = tf.tensor(random(k * m, 31), [k, m]);
    const b = tf.tensor(random(k * n, 32), [k, n]);
    const product = async (): Promise<Float32Array> => {
      const c = tf.matMul(a, b, true, false);
      const values = (await c.data()) as Float32Array;
      c.dispose();
      return values;
    };
    const before = setNativeThreads(0);
    try {
      const several = await product();
      setNativeThreads(1);
      expect(await product()).toEqual(several);
      setNativeThreads(3);
      expect(await product()).toEqual(several);
    } finally {
      setNativeThreads(before);
      tf.dispose([a, b]);
    }
  });

  it("BatchMatMul broadcasts batch dims", async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[2, 3, 17, 5], [2, 3, 5, 3], false, false],
      [[4, 17, 5], [1, 5, 3], false, false],
      [[1, 5, 17], [4, 3, 5], true, true],
      [[6, 3, 17, 5], [17, 3], true, false],
      [[36, 197, 64], [36, 197, 64], false, true],
    ];
    let seed = 100;
    for (const [as, bs, ta, tb] of cases) {
      const a = random(
        as.reduce((x, y) => x * y),
        seed++,
      );
      const b = random(
        bs.reduce((x, y) => x * y),
        seed++,
      );
      await compare(() => tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb));
    }
  });

  it("BatchMatMul broadcasts [2,1] against [1,3] leading dims as NumPy does", async () => {
    const a = random(2 * 5 * 4, 7);
    const b = random(3 * 4 * 6, 8);
    // The cpu kernel indexes batches modulo their count, which only agrees with broadcasting when one side
    // has a single batch; so the reference broadcasts explicitly.
    await tf.setBackend("cpu");
    const expected = tf.tidy(() =>
      tf.matMul(
        tf.broadcastTo(tf.tensor(a, [2, 1, 5, 4]), [2, 3, 5, 4]),
        tf.broadcastTo(tf.tensor(b, [1, 3, 4, 6]), [2, 3, 4, 6]),
      ),
    );
    const e = tf.tensor(expected.dataSync(), expected.shape);
    expected.dispose();
    await tf.setBackend("native");
    const actual = tf.tidy(() => tf.matMul(tf.tensor(a, [2, 1, 5, 4]), tf.tensor(b, [1, 3, 4, 6])));
    expectClose([actual], [e]);
  });

  it("_FusedMatMul fuses every bias shape and activation", async () => {
    // Sizes: a small product; one of many rows over two depth blocks (weight packed once, shared by the threads);
    // one row (the K-split matrix-vector product); few rows over a long depth against many columns (a weight's
    // gradient's shape: split by columns, each piece with its part of the bias).
    for (const [m, k, n, all] of [
      [17, 65, 3, true],
      [197, 300, 77, false],
      [1, 700, 300, false],
      [24, 1100, 1000, false],
      [24, 2500, 450, false], // a depth far past both sides: cut in slabs, the bias and activation after the sum
    ] as const) {
      const a = random(m * k, 11);
      const b = random(k * n, 12);
      const biases: (number[] | undefined)[] = all ? [undefined, [n], [1], [m, n], [1, n]] : [undefined, [n], [m, n]];
      const activations = all
        ? (["linear", "relu", "relu6", "elu", "sigmoid", "leakyrelu", "prelu"] as const)
        : (["linear", "relu", "leakyrelu"] as const);
      for (const biasShape of biases) {
        for (const activation of activations) {
          for (const [ta, tb] of [
            [false, false],
            [true, true],
          ]) {
            await compare(
              () =>
                tf.fused.matMul({
                  a: tf.tensor(a, ta ? [k, m] : [m, k]),
                  b: tf.tensor(b, tb ? [n, k] : [k, n]),
                  transposeA: ta,
                  transposeB: tb,
                  bias: biasShape ? rand(biasShape, 13) : undefined,
                  activation,
                  preluActivationWeights: activation === "prelu" ? rand([n], 14) : undefined,
                  leakyreluAlpha: 0.1,
                }),
              1e-4,
              k > 2000 ? 1e-4 : 1e-5,
            );
          }
        }
      }
    }
  });

  it("unary kernels match cpu, NaN included", async () => {
    const x = random(197 * 17, 21, -6, 6);
    x[5] = Number.NaN;
    const pos = random(65, 22, 0.01, 9);
    const ops: [string, (t: tf.Tensor) => tf.Tensor, boolean][] = [
      ["exp", tf.exp, false],
      ["erf", tf.erf, false],
      ["tanh", tf.tanh, false],
      ["sigmoid", tf.sigmoid, false],
      ["relu", tf.relu, false],
      ["relu6", tf.relu6, false],
      ["elu", tf.elu, false],
      ["neg", tf.neg, false],
      ["abs", tf.abs, false],
      ["square", tf.square, false],
      ["leakyRelu", (t) => tf.leakyRelu(t, 0.3), false],
      ["sqrt", tf.sqrt, true],
      ["rsqrt", tf.rsqrt, true],
      ["log", tf.log, true],
    ];
    for (const [name, op, positive] of ops) {
      const f = () => op(positive ? tf.tensor(pos, [65]) : tf.tensor(x, [197, 17]));
      const [cpu, native] = [await valuesOn("cpu", f), await valuesOn("native", f)];
      try {
        expectClose(native, cpu, 2e-6, 2e-6);
      } catch (e) {
        throw new Error(`${name}: ${(e as Error).message}`);
      }
    }
  });

  it("erf, exp and softmax are within a few 1e-7 of the true values, GELU within 2e-6 (double references)", async () => {
    // erf by its Maclaurin series in double (converges to ~1e-13 on [-4, 4]), exp by Math.exp.
    const erf = (x: number): number => {
      let term = x;
      let sum = x;
      for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
        term *= (-x * x) / n;
        sum += term / (2 * n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const x = Float32Array.from({ length: 4001 }, (_, i) => -4 + i / 500);
    // Softmax rows [0, 20v] (v ≤ 0): the second probability is exp(20v) / (1 + exp(20v)), down to exp(-80).
    const pairs = Float32Array.from([...x].filter((v) => v <= 0).flatMap((v) => [0, Math.fround(20 * v)]));
    const [e, g, p, s] = (await valuesOn("native", () => {
      const t = tf.tensor(x);
      return [
        tf.erf(t),
        biasActivation(t, null, "gelu"),
        tf.exp(tf.neg(tf.abs(tf.mul(t, 20)))),
        tf.softmax(tf.tensor2d(pairs, [pairs.length / 2, 2])),
      ];
    })) as HostTensor[];
    let worstSoftmax = 0;
    for (let r = 0; r < pairs.length / 2; r++) {
      const q = Math.exp(pairs[2 * r + 1]!);
      worstSoftmax = Math.max(worstSoftmax, Math.abs(s!.values[2 * r + 1]! - q / (1 + q)) / (q / (1 + q)));
    }
    expect(worstSoftmax).toBeLessThan(5e-7);
    let worstErf = 0;
    let worstGelu = 0;
    let worstExp = 0;
    x.forEach((v, i) => {
      worstErf = Math.max(worstErf, Math.abs(e!.values[i]! - erf(v)));
      worstGelu = Math.max(worstGelu, Math.abs(g!.values[i]! - 0.5 * v * (1 + erf(v / Math.SQRT2))));
      const want = Math.exp(-Math.abs(Math.fround(v * 20))); // of the float32 argument the kernel sees
      worstExp = Math.max(worstExp, Math.abs(p!.values[i]! - want) / want);
    });
    expect(worstErf).toBeLessThan(4e-7);
    expect(worstGelu).toBeLessThan(2e-6);
    expect(worstExp).toBeLessThan(3e-7);
  });

  it("binary kernels broadcast as cpu does", async () => {
    const shapes: [number[], number[]][] = [
      [
        [17, 65],
        [17, 65],
      ],
      [[17, 65], [65]],
      [
        [197, 1],
        [197, 65],
      ],
      [
        [3, 1, 17],
        [1, 5, 1],
      ],
      [[], [3, 17]],
      [
        [2, 3, 17, 5],
        [3, 1, 5],
      ],
      [[1], [1]],
      [[65, 3], []],
      [
        [2, 1, 3, 1],
        [1, 4, 1, 5],
      ],
    ];
    const ops = [tf.add, tf.sub, tf.mul, tf.div, tf.maximum, tf.minimum, tf.squaredDifference];
    let seed = 30;
    for (const [as, bs] of shapes) {
      const a = random(
        as.reduce((x, y) => x * y, 1),
        seed++,
      );
      const b = random(
        bs.reduce((x, y) => x * y, 1),
        seed++,
        0.5,
        2,
      );
      for (const op of ops) await compare(() => op(tf.tensor(a, as), tf.tensor(b, bs)), 1e-6, 1e-6);
    }
    // int32 inputs go to the cpu kernels
    await compare(() => tf.add(tf.tensor([1, 2, 3], [3], "int32"), tf.tensor([4], [1], "int32")));
  });

  it("Softmax matches cpu on the last axis", async () => {
    for (const shape of [
      [3, 17],
      [1, 197],
      [2, 3, 65],
      [5, 1],
    ]) {
      const x = random(
        shape.reduce((a, b) => a * b),
        shape[0] + shape[1],
        -8,
        8,
      );
      await compare(() => tf.softmax(tf.tensor(x, shape)), 1e-5, 1e-7);
    }
    const masked = random(2 * 65, 4, -3, 3).map((v, i) => (i % 7 === 0 ? -1e9 : v));
    await compare(() => tf.softmax(tf.tensor(masked, [2, 65])), 1e-5, 1e-7);
  });

  it("column sums of a few long rows and of many short ones match cpu (shared out by columns, or rows in order)", async () => {
    // The addon splits by columns when each thread's share of a row is 4 KB (1,024 floats) or more.
    const threads = (await useNative()).threads ?? 1;
    for (const shape of [
      [4, 1024 * threads + 40], // split by columns, on any thread count
      [300, 576], // a bias gradient's shape: one thread streaming whole rows (576 < 1,024)
    ]) {
      const x = random(shape[0]! * shape[1]!, 43, 0.5, 1.5);
      await compare(
        () => {
          const t = tf.tensor(x, shape);
          return [tf.sum(t, 0), tf.mean(t, 0), tf.max(t, 0), tf.min(t, 0)];
        },
        1e-5,
        1e-6,
      );
    }
  });

  it("reductions match cpu on contiguous and scattered axes", async () => {
    const shape = [3, 17, 5, 2];
    const x = random(3 * 17 * 5 * 2, 41, 0.5, 1.5);
    const axes: (number | number[] | undefined)[] = [undefined, -1, 0, 1, [1, 2], [0, 1], [0, 2], [2, 3], [0, 1, 2, 3]];
    for (const axis of axes) {
      for (const keepDims of [false, true]) {
        await compare(
          () => {
            const t = tf.tensor(x, shape);
            return [
              tf.sum(t, axis, keepDims),
              tf.mean(t, axis, keepDims),
              tf.max(t, axis, keepDims),
              tf.min(t, axis, keepDims),
              tf.prod(t, axis, keepDims),
            ];
          },
          1e-5,
          1e-6,
        );
      }
    }
    const nan = random(17, 42);
    nan[3] = Number.NaN;
    await compare(() => [tf.max(tf.tensor(nan)), tf.min(tf.tensor(nan)), tf.sum(tf.tensor(nan))]);
  });

  it("Transpose matches cpu", async () => {
    const cases: [number[], number[]][] = [
      [
        [17, 65],
        [1, 0],
      ],
      [
        [2, 197, 3, 64],
        [0, 2, 1, 3],
      ],
      [
        [3, 5, 17],
        [2, 0, 1],
      ],
      [
        [1, 3, 1],
        [2, 1, 0],
      ],
      [[65], [0]],
    ];
    for (const [shape, perm] of cases) {
      const x = random(
        shape.reduce((a, b) => a * b),
        50,
      );
      await compare(() => tf.transpose(tf.tensor(x, shape), perm), 0, 0);
    }
  });

  it("Slice, SplitV and Unpack match cpu, contiguous or strided", async () => {
    const x = random(8 * 17 * 3 * 5, 55);
    const shape = [8, 17, 3, 5];
    await compare(
      () => {
        const t = tf.tensor(x, shape);
        return [
          tf.slice(t, [0, 1, 0, 0], [8, 16, 3, 5]),
          tf.slice(t, [2, 0, 0, 0], [3, 17, 3, 5]),
          tf.slice(t, [1, 3, 1, 2], [2, 5, 2, -1]),
          ...tf.split(t, [1, 16], 1),
          ...tf.split(t, 5, 3),
          ...tf.unstack(t, 2),
          ...tf.unstack(t, 0),
        ];
      },
      0,
      0,
    );
  });

  it("core's fused layerNorm, rmsNorm and biasActivation kernels match their compositions, gradients too", async () => {
    await tf.setBackend("native");
    expect(tf.getKernel("BirdVLMLayerNorm", "native")).toBeDefined();
    const [n, c] = [3 * 17, 65];
    const xv = random(n * c, 95, -3, 3);
    const gv = random(c, 96, 0.5, 1.5);
    const bv = random(c, 97);
    for (const fn of [
      (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(x, g, b, 1e-6), x)),
      (x: tf.Tensor, g: tf.Tensor) => tf.sum(tf.mul(rmsNorm(x, g, 1e-5), x)),
      (x: tf.Tensor, _g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(biasActivation(x, b, "gelu"), x)),
      (x: tf.Tensor, _g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(biasActivation(x, b, "gelu_tanh"), x)),
      (x: tf.Tensor) => tf.sum(tf.mul(biasActivation(x, null, "silu"), x)),
    ]) {
      await compare(
        () => {
          const inputs = [tf.tensor(xv, [3, 17, c]), tf.tensor(gv), tf.tensor(bv)];
          const value = fn(inputs[0], inputs[1], inputs[2]);
          const grads = tf.grads((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            tf.add(fn(x, g, b), tf.mul(0, tf.add(tf.sum(g), tf.sum(b)))),
          )(inputs);
          return [value, ...grads];
        },
        1e-4,
        1e-4,
      );
    }
  });

  it("gradients through attention, GELU and layer norm match cpu", async () => {
    const [b, t, d] = [2, 17, 8];
    const xv = random(b * t * d, 61);
    const wv = random(d * 3 * d, 62, -0.3, 0.3);
    const gv = random(d, 63, 0.5, 1.5);
    const loss = (x: tf.Tensor, w: tf.Tensor, g: tf.Tensor): tf.Scalar => {
      const mean = tf.mean(x, -1, true);
      const variance = tf.mean(tf.square(tf.sub(x, mean)), -1, true);
      const normed = tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g);
      const qkv = tf.matMul(tf.reshape(normed, [b * t, d]), w);
      const [q, k, v] = tf.split(tf.reshape(qkv, [b, t, 3, d]), 3, 2).map((p) => tf.reshape(p, [b, t, d]));
      const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(d)));
      const y = tf.matMul(att, v);
      const gelu = tf.mul(tf.mul(y, 0.5), tf.add(1, tf.erf(tf.div(y, Math.SQRT2))));
      return tf.sum(tf.mul(gelu, tf.transpose(x, [0, 1, 2])));
    };
    await compare(
      () => {
        const grads = tf.grads((x, w, g) => loss(x, w, g));
        return grads([tf.tensor(xv, [b, t, d]), tf.tensor(wv, [d, 3 * d]), tf.tensor(gv, [d])]);
      },
      1e-3,
      1e-4,
    );
  });

  it("recycles output buffers without ever exposing a reused one", async () => {
    await tf.setBackend("native");
    const n = 65 * 197;
    const x = tf.tensor(random(n, 80), [65, 197]);
    const a = tf.exp(x);
    const held = a.dataSync();
    const expected = Float32Array.from(held);
    const reshaped = tf.reshape(a, [197, 65]);
    const sliced = tf.slice(a, [1, 0], [3, 197]);
    const cpuView = tf.stridedSlice(a, [2, 0], [4, 197], [1, 1]);
    a.dispose();
    // Same-size outputs now may take a's buffer only once the reshape (sharing it) is gone too.
    const b = tf.neg(x);
    const c = tf.sigmoid(x);
    expect(Array.from(held)).toEqual(Array.from(expected));
    expect(Array.from(reshaped.dataSync())).toEqual(Array.from(expected));
    expect(Array.from(sliced.dataSync())).toEqual(Array.from(expected.subarray(197, 4 * 197)));
    expect(Array.from(cpuView.dataSync())).toEqual(Array.from(expected.subarray(2 * 197, 4 * 197)));
    reshaped.dispose();
    const d = tf.abs(x);
    expect(Array.from(sliced.dataSync())).toEqual(Array.from(expected.subarray(197, 4 * 197)));
    expect(Array.from(cpuView.dataSync())).toEqual(Array.from(expected.subarray(2 * 197, 4 * 197)));
    expect(d.dataSync()[0]).toBeCloseTo(Math.abs(x.dataSync()[0]), 6);
    tf.dispose([x, b, c, d, sliced, cpuView]);
  });

  it("the frugal backward pass gives the same gradients with a lower peak, and leaves higher orders alone", async () => {
    const xv = random(64 * 65, 90);
    const wv = random(65 * 65, 91, -0.2, 0.2);
    const lossOf = (x: tf.Tensor, w: tf.Tensor): tf.Scalar => {
      let h = x;
      for (let i = 0; i < 6; i++) h = tf.tanh(tf.matMul(h, w));
      return tf.sum(tf.square(h));
    };
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor(xv, [64, 65]);
      const w = tf.tensor(wv, [65, 65]);
      let grads: tf.Tensor[] = [];
      const info = await tf.profile(() => {
        grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => lossOf(a, b))([x, w]);
      });
      const values = grads.map((g) => Float32Array.from(g.dataSync()));
      tf.dispose([x, w, ...grads]);
      return { values, peak: info.peakBytes };
    };
    const cpu = await run("cpu");
    const native = await run("native");
    for (let i = 0; i < 2; i++) {
      const e = cpu.values[i];
      const a = native.values[i];
      for (let j = 0; j < e.length; j++)
        expect(Math.abs(a[j] - e[j])).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(e[j]));
    }
    expect(native.peak).toBeLessThan(cpu.peak);
    // Second derivative of x^3 at 2 is 12: nested tapes go through the engine's own gradients.
    await tf.setBackend("native");
    const d2 = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.pow(y, 3))(x))(tf.scalar(2)));
    expect(d2.dataSync()[0]).toBeCloseTo(12, 4);
    d2.dispose();
  });

  it("frees every intermediate in a training-like loop", async () => {
    await tf.setBackend("native");
    const w = tf.variable(rand([17, 3], 70));
    const x = rand([5, 17], 71);
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() =>
          tf.sum(tf.softmax(tf.fused.matMul({ a: x, b: w, activation: "relu" }))),
        );
        w.assign(tf.sub(w, tf.mul(grads[w.name], 0.1)));
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x]);
  });
});
