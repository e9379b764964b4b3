import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AdamW, tf, type NamedTensors } from "../../index.js";
import { sharedPath } from "../../../../../testing/shared.js";

const goldenPath = sharedPath("goldens/training.json");

interface AdamGolden {
  init: { w: number[]; b: number[] };
  trajectory: Array<{ step: number; w: number[]; b: number[] }>;
}

/** Gradients of `sum(w²) + sum(b²)` by parameter name. */
function quadraticGrads(params: Array<[string, tf.Variable]>): NamedTensors {
  const { grads, value } = tf.variableGrads(
    () => tf.addN(params.map(([, v]) => tf.sum(tf.square(v)))) as tf.Scalar,
    params.map(([, v]) => v),
  );
  value.dispose();
  const byId = new Map(params.map(([n, v]) => [v.name, n]));
  return Object.fromEntries(Object.entries(grads).map(([id, g]) => [byId.get(id)!, g]));
}

function dispose(t: NamedTensors): void {
  for (const x of Object.values(t)) x.dispose();
}

describe.skipIf(!goldenPath)("AdamW against PyTorch (goldens/training.json)", () => {
  it("follows the 5-step float64 trajectory with per-group weight decay to 1e-6", () => {
    // float32-limited: parameters near 2.5 carry up to 1.2e-7 rounding per step (one ulp is 2.4e-7); measured
    // max error after 5 steps is 6.2e-7 on the wasm and cpu backends, inside the 1e-6 the issue asks for.
    const g = (JSON.parse(readFileSync(goldenPath!, "utf8")) as { adamw: AdamGolden }).adamw;
    const w = tf.variable(tf.tensor1d(g.init.w));
    const b = tf.variable(tf.tensor1d(g.init.b));
    const params: Array<[string, tf.Variable]> = [
      ["w", w],
      ["b", b],
    ];
    // w is rank 1, which the default rule would exclude from decay: the groups set decay explicitly.
    const opt = new AdamW(params, {
      lr: 0.1,
      betas: [0.9, 0.999],
      eps: 1e-8,
      groups: [
        { match: /^w$/, weightDecay: 0.1 },
        { match: (n) => n === "b", weightDecay: 0 },
      ],
    });
    expect(opt.weightDecayOf("w")).toBe(0.1);
    expect(opt.weightDecayOf("b")).toBe(0);
    for (const expected of g.trajectory) {
      const grads = quadraticGrads(params);
      opt.step(grads);
      dispose(grads);
      expect(opt.stepCount).toBe(expected.step);
      const wv = w.dataSync(),
        bv = b.dataSync();
      expected.w.forEach((x, i) => expect(Math.abs(wv[i]! - x)).toBeLessThan(1e-6));
      expected.b.forEach((x, i) => expect(Math.abs(bv[i]! - x)).toBeLessThan(1e-6));
    }
    opt.dispose();
    w.dispose();
    b.dispose();
  });
});

describe("AdamW", () => {
  const mk = () => {
    const params: Array<[string, tf.Variable]> = [
      [
        "fc.weight",
        tf.variable(
          tf.tensor2d([
            [1, 2],
            [3, -4],
          ]),
        ),
      ],
      ["fc.bias", tf.variable(tf.tensor1d([0.5, -0.5]))],
      ["norm.weight", tf.variable(tf.tensor2d([[1, 1]]))],
      ["pos_embed", tf.variable(tf.tensor2d([[0.1, 0.2]]))],
    ];
    return params;
  };

  it("excludes rank-1 tensors, norms and position embeddings from decay by default", () => {
    const params = mk();
    const opt = new AdamW(params, { lr: 1e-3, weightDecay: 0.05 });
    expect(params.map(([n]) => opt.weightDecayOf(n))).toEqual([0.05, 0, 0, 0]);
    opt.dispose();
    params.forEach(([, v]) => v.dispose());
  });

  it("with a zero gradient only decays, by lr·wd·p (decoupled)", () => {
    const params = mk();
    const opt = new AdamW(params, { lr: 0.1, weightDecay: 0.5 });
    const zero = { "fc.weight": tf.zeros([2, 2]) };
    opt.step(zero);
    expect(Array.from(params[0]![1].dataSync())).toEqual(
      Array.from(new Float32Array([1, 2, 3, -4].map((x) => x * (1 - 0.05)))),
    );
    // parameters without a gradient are untouched
    expect(Array.from(params[1]![1].dataSync())).toEqual([0.5, -0.5]);
    opt.dispose();
    dispose(zero);
    params.forEach(([, v]) => v.dispose());
  });

  it("scales a group's own lr with the lr passed to step", () => {
    const a = tf.variable(tf.tensor1d([1]));
    const c = tf.variable(tf.tensor1d([1]));
    const opt = new AdamW(
      [
        ["a", a],
        ["head.c", c],
      ],
      { lr: 0.1, groups: [{ match: /^head\./, lr: 0.4 }] },
    );
    const grads = { a: tf.tensor1d([1]), "head.c": tf.tensor1d([1]) };
    opt.step(grads, 0.05); // half the base lr: a moves 0.05, c moves 0.2 (first Adam step moves by ≈ lr)
    expect(a.dataSync()[0]).toBeCloseTo(1 - 0.05, 6);
    expect(c.dataSync()[0]).toBeCloseTo(1 - 0.2, 6);
    dispose(grads);
    opt.dispose();
    a.dispose();
    c.dispose();
  });

  it("continues bit-identically after exporting and importing its state", () => {
    const p1 = mk(),
      p2 = mk();
    const o1 = new AdamW(p1, { lr: 0.01, weightDecay: 0.1 });
    const o2 = new AdamW(p2, { lr: 0.01, weightDecay: 0.1 });
    for (let i = 0; i < 3; i++) {
      const g = quadraticGrads(p1);
      o1.step(g);
      dispose(g);
    }
    const state = o1.stateDict();
    expect(Object.keys(state).sort()).toContain("fc.weight.exp_avg_sq");
    expect(state["fc.weight.step"]!.dataSync()[0]).toBe(3);
    p1.forEach(([, v], i) => p2[i]![1].assign(v));
    o2.loadStateDict(state);
    dispose(state);
    expect(o2.stepCount).toBe(3);
    for (let i = 0; i < 2; i++) {
      const g1 = quadraticGrads(p1);
      o1.step(g1);
      dispose(g1);
      const g2 = quadraticGrads(p2);
      o2.step(g2);
      dispose(g2);
    }
    p1.forEach(([, v], i) => expect(Array.from(p2[i]![1].dataSync())).toEqual(Array.from(v.dataSync())));
    o1.dispose();
    o2.dispose();
    [...p1, ...p2].forEach(([, v]) => v.dispose());
  });

  it("rejects bad gradients and bad state with the name", () => {
    const params = mk();
    const opt = new AdamW(params, { lr: 0.01 });
    const wrong = { "fc.weight": tf.zeros([3]) };
    expect(() => opt.step(wrong)).toThrow(/fc\.weight.*\[3\]/);
    const unknown = { nope: tf.zeros([1]) };
    expect(() => opt.step(unknown)).toThrow(/unknown parameter 'nope'/);
    const badState = { "fc.weight.exp_avg": tf.zeros([1]), "x.exp_avg": tf.zeros([1]) };
    expect(() => opt.loadStateDict(badState)).toThrow(/unexpected 'x\.exp_avg'.*|fc\.weight\.exp_avg/);
    [wrong, unknown, badState].forEach(dispose);
    opt.dispose();
    params.forEach(([, v]) => v.dispose());
  });

  it("keeps the tensor count flat over steps", () => {
    const params = mk();
    const opt = new AdamW(params, { lr: 0.01, weightDecay: 0.1 });
    const run = () => {
      const g = quadraticGrads(params);
      opt.step(g);
      dispose(g);
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    params.forEach(([, v]) => v.dispose());
  });
});
