import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { ParameterInit } from "./parameter-init.js";

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe("ParameterInit", () => {
  it("gives the same draws for the same seed, seed 0 included (TF.js reads a seed of 0 as none)", () => {
    for (const seed of [0, 1, 12345]) {
      const a = new ParameterInit(seed, { std: 0.02 });
      const b = new ParameterInit(seed, { std: 0.02 });
      for (let i = 0; i < 3; i++) {
        const [x, y] = [a.normal([4, 8]), b.normal([4, 8])];
        expect(values(x)).toEqual(values(y));
        const [u, v] = [a.truncNormal([4, 8]), b.truncNormal([4, 8])];
        expect(values(u)).toEqual(values(v));
        tf.dispose([x, y, u, v]);
      }
    }
  });

  it("gives different draws for different seeds and for successive parameters", () => {
    const a = new ParameterInit(0);
    const b = new ParameterInit(1);
    const [x0, x1, y0] = [a.normal([16]), a.normal([16]), b.normal([16])];
    expect(values(x0)).not.toEqual(values(x1));
    expect(values(x0)).not.toEqual(values(y0));
    tf.dispose([x0, x1, y0]);
  });

  it("draws with the std asked for: truncated at 2 std, uniform within the bound, zeros in zeros mode", () => {
    const init = new ParameterInit(3, { std: 0.5 });
    const t = values(init.truncNormal([4000]));
    expect(Math.max(...t.map(Math.abs))).toBeLessThanOrEqual(1 + 1e-6);
    const n = values(init.normal([4000], 2));
    const sd = Math.sqrt(n.reduce((s, v) => s + v * v, 0) / n.length);
    expect(sd).toBeGreaterThan(1.8);
    expect(sd).toBeLessThan(2.2);
    const u = values(init.uniform([4000], 0.25));
    expect(Math.max(...u.map(Math.abs))).toBeLessThanOrEqual(0.25);
    const zeros = new ParameterInit(3, { mode: "zeros" });
    expect(values(zeros.normal([5])).every((v) => v === 0)).toBe(true);
    expect(values(zeros.ones([2]))).toEqual([1, 1]);
  });

  it("starts linear layers as its scheme says", () => {
    const torch = new ParameterInit(0, { linear: "uniform" });
    const w = values(torch.linearWeight(16, 8));
    const b = values(torch.linearBias(16, 8));
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(b.some((v) => v !== 0)).toBe(true);
    const timm = new ParameterInit(0);
    expect(values(timm.linearBias(16, 8)).every((v) => v === 0)).toBe(true);
    expect(Math.max(...values(timm.linearWeight(16, 8)).map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-6);
  });
});
