// The native training kernels (the fused backward of bias + activation and of the row norms, and the AdamW
// update) against the compositions the cpu backend runs, at odd sizes and at sizes that split among threads.
import { expect, it } from "vitest";
import { tf } from "../../../tf.js";
import { biasActivation, type Activation } from "../../../ops/bias-activation.js";
import { layerNorm } from "../../../ops/layer-norm.js";
import { rmsNorm } from "../../../ops/rms-norm.js";
import { AdamW } from "../../../training/optimizers/adamw.js";
import { clipByGlobalNorm, globalNorm } from "../../../training/optimizers/clip.js";
import { seeded } from "../../../testing/tensors.js";
import { describeEachBackend, valuesOn } from "../../../testing/backends.js";

/** Largest |a - e| / (1 + |e|); NaN counts as infinitely wrong. */
function worst(a: ArrayLike<number>, e: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < e.length; i++) m = Math.max(m, Math.abs(a[i]! - e[i]!) / (1 + Math.abs(e[i]!)));
  return Number.isNaN(m) ? Infinity : m;
}

async function kernelsOf(fn: () => void): Promise<string[]> {
  const p = await tf.profile(() => tf.tidy(fn));
  return p.kernels.map((k) => k.name);
}

describeEachBackend("native training kernels", ["native"], () => {
  const shapes: number[][] = [
    [1, 1],
    [7, 13],
    [2, 3, 5, 97],
    [1000, 300],
    [64, 768],
  ];

  for (const shape of shapes) {
    for (const activation of ["gelu", "gelu_tanh", "silu"] as Activation[]) {
      it(`biasActivation's gradient equals the composition's for [${shape}] with ${activation}`, async () => {
        const C = shape[shape.length - 1]!;
        const run = () => {
          const x = seeded(shape, 81, 3);
          const b = seeded([C], 82);
          const w = seeded(shape, 83);
          const withBias = tf.grads((xi: tf.Tensor, bi: tf.Tensor) =>
            tf.sum(tf.mul(biasActivation(xi, bi, activation), w)),
          )([x, b]);
          const noBias = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(biasActivation(xi, null, activation), w)))(x);
          return [...withBias, noBias];
        };
        const want = await valuesOn("cpu", run);
        const got = await valuesOn("native", run);
        // The bias gradient sums up to 1000 rows in another order.
        for (let i = 0; i < want.length; i++)
          expect(worst(got[i]!.values, want[i]!.values), `output ${i}`).toBeLessThan(i === 1 ? 1e-4 : 2e-6);
      });
    }
  }

  it("saturates and propagates NaN as the composition does", async () => {
    const run = () => {
      const x = tf.tensor2d([[-40, -9, -1e-3, 0, 1e-3, 9, 40, NaN]]);
      return (["gelu", "gelu_tanh", "silu"] as Activation[]).map((a) =>
        tf.grad((xi: tf.Tensor) => tf.sum(biasActivation(xi, null, a)))(x),
      );
    };
    const want = await valuesOn("cpu", run);
    const got = await valuesOn("native", run);
    for (let i = 0; i < want.length; i++) {
      const g = Array.from(got[i]!.values);
      expect(Number.isNaN(g[7])).toBe(true);
      expect(worst(g.slice(0, 7), Array.from(want[i]!.values).slice(0, 7))).toBeLessThan(2e-6);
    }
  });

  for (const shape of [
    [1, 1],
    [3, 5, 7],
    [2080, 192],
    [33, 1030],
  ]) {
    it(`layerNorm's and rmsNorm's gradients equal the compositions' for [${shape}]`, async () => {
      const C = shape[shape.length - 1]!;
      const run = () => {
        const x = tf.add(seeded(shape, 91, 2), 0.5);
        const g = tf.add(1, seeded([C], 92, 0.3));
        const b = seeded([C], 93, 0.5);
        const w = seeded(shape, 94);
        const ln = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.mul(layerNorm(xi, gi, bi, 1e-6), w)),
        )([x, g, b]);
        const rms = tf.grads((xi: tf.Tensor, gi: tf.Tensor) => tf.sum(tf.mul(rmsNorm(xi, gi, 1e-5), w)))([x, g]);
        return [...ln, ...rms];
      };
      const want = await valuesOn("cpu", run);
      const got = await valuesOn("native", run);
      for (let i = 0; i < want.length; i++)
        expect(worst(got[i]!.values, want[i]!.values), `output ${i}`).toBeLessThan(shape[0]! > 100 ? 2e-4 : 2e-5);
    });
  }

  it("AdamW's native update equals the composition's over several steps (decay and no decay)", async () => {
    const run = () => {
      const params: Array<[string, tf.Variable]> = [
        ["w", tf.variable(seeded([37, 19], 101), true, "adamw-test-w")],
        ["norm.bias", tf.variable(seeded([19], 102), true, "adamw-test-b")],
        ["big", tf.variable(seeded([300, 257], 103), true, "adamw-test-big")],
      ];
      const opt = new AdamW(params, { lr: 3e-3, weightDecay: 0.05 });
      for (let step = 0; step < 4; step++) {
        const grads = Object.fromEntries(params.map(([n, v], i) => [n, seeded(v.shape, 110 + 10 * step + i)]));
        opt.step(grads, step === 2 ? 1e-3 : undefined);
      }
      const state = opt.stateDict();
      const out = [...params.map(([, v]) => v.clone()), ...Object.values(state).filter((t) => t.dtype === "float32")];
      tf.dispose(Object.values(state).filter((t) => t.dtype !== "float32"));
      opt.dispose();
      params.forEach(([, v]) => v.dispose());
      return out;
    };
    const want = await valuesOn("cpu", run);
    const got = await valuesOn("native", run);
    expect(got.length).toBe(9);
    for (let i = 0; i < want.length; i++)
      expect(worst(got[i]!.values, want[i]!.values), `output ${i}`).toBeLessThan(1e-6);
  });

  it("clipByGlobalNorm's one kernel equals the composition (over and under the limit, many tensors)", async () => {
    for (const maxNorm of [1, 1e4]) {
      const run = () => {
        const grads = Object.fromEntries(
          [[192, 768], [768], [1], [65, 192], [300, 257], [0]].map((shape, i) => [
            `p${i}`,
            seeded(shape, 130 + i, 0.05),
          ]),
        );
        const { grads: clipped, norm } = clipByGlobalNorm(grads, maxNorm);
        return [norm, globalNorm(grads), ...Object.values(clipped)];
      };
      const want = await valuesOn("cpu", run);
      const got = await valuesOn("native", run);
      expect(got.map((g) => g.shape)).toEqual(want.map((w) => w.shape));
      for (let i = 0; i < want.length; i++)
        expect(worst(got[i]!.values, want[i]!.values), `output ${i}`).toBeLessThan(1e-6);
    }
    const nan = await valuesOn("native", () => {
      const { grads, norm } = clipByGlobalNorm({ a: tf.tensor1d([NaN, 1]), b: tf.tensor1d([2]) }, 1);
      return [norm, grads.b!];
    });
    expect(Number.isNaN(nan[0]!.values[0])).toBe(true);
    expect(Number.isNaN(nan[1]!.values[0])).toBe(true);
  });

  it("runs each backward as its one kernel, and leaks nothing", async () => {
    await tf.setBackend("native");
    const x = seeded([5, 24], 121);
    const b = seeded([24], 122);
    const g = tf.add(1, seeded([24], 123));
    const act = await kernelsOf(() => {
      tf.grads((xi: tf.Tensor, bi: tf.Tensor) => tf.sum(biasActivation(xi, bi, "gelu")))([x, b]);
    });
    expect(act).toContain("BirdVLMBiasActivationGrad");
    expect(act).not.toContain("Erf");
    const ln = await kernelsOf(() => {
      tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(layerNorm(xi, gi, bi)))([x, g, b]);
    });
    expect(ln).toContain("BirdVLMLayerNormGrad");
    expect(ln).not.toContain("Mean");
    const p = tf.variable(seeded([5, 24], 124));
    const opt = new AdamW([["p", p]], { lr: 1e-3, weightDecay: 0.1 });
    const step = () =>
      tf.tidy(() => {
        const [gx, gb] = tf.grads((xi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(layerNorm(biasActivation(xi, bi, "gelu_tanh"), g, bi)),
        )([x, b]);
        tf.grads((xi: tf.Tensor) => tf.sum(rmsNorm(biasActivation(xi, null, "silu"), g)))([x]);
        opt.step({ p: tf.add(gx!, tf.sum(gb!)) });
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    expect(await kernelsOf(() => opt.step({ p: tf.onesLike(p) }))).toContain("BirdVLMAdamW");
    expect(await kernelsOf(() => clipByGlobalNorm({ p, x }, 1))).toEqual(["BirdVLMClipByGlobalNorm"]);
    const clipBefore = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const c = clipByGlobalNorm({ p, x }, 0.5);
      tf.dispose([c.norm, ...Object.values(c.grads), globalNorm({ p })]);
    }
    expect(tf.memory().numTensors).toBe(clipBefore);
    opt.dispose();
    p.dispose();
    tf.dispose([x, b, g]);
  });
});
