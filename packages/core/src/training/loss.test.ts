import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crossEntropy, shiftedCausalLMLoss, tf } from "../index.js";
import { sharedPath } from "../../../../testing/shared.js";

const goldenPath = sharedPath("goldens/training.json");

/**
 * Float64 reference of torch.nn.functional.cross_entropy (class axis last) written from PyTorch's
 * definition: nll and the smoothing term both summed over non-ignored items and divided by their count.
 */
function reference(
  logits: number[][],
  labels: number[],
  eps: number,
  ignore: number,
  reduction: "mean" | "sum" | "none",
) {
  const C = logits[0]!.length;
  const per = logits.map((row, i) => {
    if (labels[i] === ignore) return 0;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    const logp = row.map((x) => x - lse);
    return -(1 - eps) * logp[labels[i]!]! - (eps / C) * logp.reduce((s, x) => s + x, 0);
  });
  if (reduction === "none") return per;
  const sum = per.reduce((s, x) => s + x, 0);
  return reduction === "sum" ? sum : sum / labels.filter((y) => y !== ignore).length;
}

describe.skipIf(!goldenPath)("crossEntropy against goldens/training.json", () => {
  it("label smoothing 0.1, mean, to 1e-6", () => {
    const g = (
      JSON.parse(readFileSync(goldenPath!, "utf8")) as {
        "cross_entropy_label_smoothing_0.1": { logits: number[][]; labels: number[]; loss_mean: number };
      }
    )["cross_entropy_label_smoothing_0.1"];
    const logits = tf.tensor2d(g.logits);
    const labels = tf.tensor1d(g.labels, "int32");
    const loss = crossEntropy(logits, labels, { labelSmoothing: 0.1 });
    expect(loss.rank).toBe(0);
    expect(Math.abs(loss.dataSync()[0]! - g.loss_mean)).toBeLessThan(1e-6);
    [logits, labels, loss].forEach((t) => t.dispose());
  });
});

describe("crossEntropy", () => {
  const logits = [
    [2, 0.5, -1, 0],
    [0.1, 0.2, 3, -0.5],
    [1, -2, 0.3, 0.7],
    [-1, 4, 0, 2],
  ];
  const labels = [0, -100, 3, 1];

  for (const eps of [0, 0.2])
    for (const reduction of ["mean", "sum", "none"] as const)
      it(`ignores -100 with smoothing ${eps}, reduction ${reduction}, as PyTorch`, () => {
        const x = tf.tensor2d(logits);
        const y = tf.tensor1d(labels, "int32");
        const out = crossEntropy(x, y, { labelSmoothing: eps, reduction });
        const want = reference(logits, labels, eps, -100, reduction);
        const got = Array.from(out.dataSync());
        (Array.isArray(want) ? want : [want]).forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThan(1e-6));
        [x, y, out].forEach((t) => t.dispose());
      });

  it("accepts [B,T,C] with [B,T] labels and a custom ignore index", () => {
    const x = tf.tensor3d([logits.slice(0, 2), logits.slice(2, 4)]);
    const y = tf.tensor2d(
      [
        [0, 2],
        [7, 1],
      ],
      [2, 2],
      "int32",
    );
    const out = crossEntropy(x, y, { ignoreIndex: 7, labelSmoothing: 0.1 });
    expect(Math.abs(out.dataSync()[0]! - (reference(logits, [0, 2, 7, 1], 0.1, 7, "mean") as number))).toBeLessThan(
      1e-6,
    );
    [x, y, out].forEach((t) => t.dispose());
  });

  it("has the gradient softmax − target, divided by the count of learned items", () => {
    const x = tf.tensor2d(logits);
    const y = tf.tensor1d(labels, "int32");
    const eps = 0.2;
    const grad = tf.grad((l: tf.Tensor) => crossEntropy(l, y, { labelSmoothing: eps }))(x);
    const g = grad.arraySync() as number[][];
    const n = 3;
    logits.forEach((row, i) => {
      const m = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - m), 0);
      row.forEach((v, c) => {
        const want = labels[i] === -100 ? 0 : (Math.exp(v - m) / z - ((c === labels[i] ? 1 - eps : 0) + eps / 4)) / n;
        expect(Math.abs(g[i]![c]! - want)).toBeLessThan(1e-6);
      });
    });
    [x, y, grad].forEach((t) => t.dispose());
  });

  it("is NaN for a mean over only ignored items (as PyTorch) and for an out-of-range label", () => {
    const x = tf.tensor2d(logits.slice(0, 2));
    const allIgnored = tf.tensor1d([-100, -100], "int32");
    const outOfRange = tf.tensor1d([0, 9], "int32");
    const a = crossEntropy(x, allIgnored);
    const b = crossEntropy(x, outOfRange);
    expect(Number.isNaN(a.dataSync()[0])).toBe(true);
    expect(Number.isNaN(b.dataSync()[0])).toBe(true);
    [x, allIgnored, outOfRange, a, b].forEach((t) => t.dispose());
  });

  it("rejects mismatched shapes and float labels, naming the shapes", () => {
    const x = tf.zeros([2, 3]);
    const y = tf.zeros([3], "int32");
    const f = tf.zeros([2]);
    expect(() => crossEntropy(x, y)).toThrow(/labels \[3\].*\[2\].*\[2,3\]/);
    expect(() => crossEntropy(x, f)).toThrow(/int32/);
    [x, y, f].forEach((t) => t.dispose());
  });
});

describe("shiftedCausalLMLoss", () => {
  it("scores logits at t against labels at t+1", () => {
    const V = 4;
    const rows = [
      [2, 0.5, -1, 0],
      [0.1, 0.2, 3, -0.5],
      [1, -2, 0.3, 0.7],
    ];
    const x = tf.tensor3d([rows]); // [1,3,4]
    const y = tf.tensor2d([[-100, 2, 3]], [1, 3], "int32");
    const loss = shiftedCausalLMLoss(x, y);
    // position 0 predicts label 2, position 1 predicts label 3; position 2 has nothing to predict
    const want = reference(rows.slice(0, 2), [2, 3], 0, -100, "mean") as number;
    expect(Math.abs(loss.dataSync()[0]! - want)).toBeLessThan(1e-6);
    expect(V).toBe(4);
    [x, y, loss].forEach((t) => t.dispose());
  });
});
