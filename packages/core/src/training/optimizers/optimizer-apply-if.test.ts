import { describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { AdamW } from "./adamw.js";
import { SGD } from "./sgd.js";
import type { NamedOptimizer } from "./optimizer.js";

type Make = (params: Array<[string, tf.Variable]>) => NamedOptimizer;
const makers: Array<[string, Make]> = [
  ["AdamW", (p) => new AdamW(p, { lr: 0.1, weightDecay: 0.01 })],
  ["SGD with momentum", (p) => new SGD(p, { lr: 0.1, momentum: 0.9 })],
];

function snapshot(opt: NamedOptimizer, w: tf.Variable): Record<string, number[]> {
  const state = opt.stateDict();
  const out: Record<string, number[]> = { w: Array.from(w.dataSync()) };
  for (const [k, t] of Object.entries(state))
    if (k !== "__step__" && !k.endsWith(".step")) out[k] = Array.from(t.dataSync());
  tf.dispose(Object.values(state));
  return out;
}

describe("Optimizer.step applyIf (a skip decided on the device)", () => {
  for (const [name, make] of makers) {
    it(`${name}: false keeps parameters and state (the first step's new slots included); true equals a plain step`, () => {
      const before = tf.memory().numTensors;
      const w1 = tf.tidy(() => tf.variable(tf.tensor1d([0.5, -1, 2]), true, `w1-${name}`));
      const w2 = tf.tidy(() => tf.variable(tf.tensor1d([0.5, -1, 2]), true, `w2-${name}`));
      const a = make([["w", w1]]),
        b = make([["w", w2]]);
      const g = tf.tensor1d([0.1, 0.2, -0.3]);
      const nan = tf.tensor1d([NaN, 1, 1]);
      const [yes, no] = [tf.scalar(true, "bool"), tf.scalar(false, "bool")];
      const fresh = make([["w", w1]]);
      fresh.step({ w: nan }, undefined, { applyIf: no }); // skipped before any slot exists
      expect(Array.from(w1.dataSync())).toEqual([0.5, -1, 2]);
      for (const [k, v] of Object.entries(snapshot(fresh, w1)))
        if (k !== "w") expect(v.every((x) => x === 0)).toBe(true);
      fresh.dispose();
      a.step({ w: g }, undefined, { applyIf: yes });
      b.step({ w: g });
      expect(snapshot(a, w1)).toEqual(snapshot(b, w2)); // true: the plain step
      a.step({ w: nan }, undefined, { applyIf: no });
      const kept = snapshot(a, w1);
      expect(Object.values(kept).flat().every(Number.isFinite)).toBe(true);
      expect(kept).toEqual(snapshot(b, w2)); // false: parameter and moments as they were
      expect(a.stepCount).toBe(2); // the step count still advances (documented)
      tf.dispose([g, nan, yes, no]);
      a.dispose();
      b.dispose();
      tf.dispose([w1, w2]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
