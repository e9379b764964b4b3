import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { Linear, type LinearDelta } from "./linear.js";
import { ParameterInit } from "./parameter-init.js";
import { activationReference } from "../ops/bias-activation.js";

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe("Linear", () => {
  it("computes x W + b over any leading axes, with the bias optional", () => {
    tf.tidy(() => {
      const l = new Linear(4, 3, new ParameterInit(1, { linear: "uniform" }));
      const x = tf.randomNormal([2, 5, 4], 0, 1, "float32", 7);
      const want = tf.reshape(tf.add(tf.matMul(tf.reshape(x, [10, 4]), l.weight), l.bias!), [2, 5, 3]);
      expect(maxDiff(l.forward(x), want)).toBeLessThan(1e-6);
      const noBias = new Linear(4, 3, new ParameterInit(1), { bias: false });
      expect(noBias.bias).toBeUndefined();
      expect(noBias.namedParameters().map(([n]) => n)).toEqual(["weight"]);
      const product = tf.reshape(tf.matMul(tf.reshape(x, [10, 4]), noBias.weight), [2, 5, 3]);
      expect(maxDiff(noBias.forward(x), product)).toBe(0);
      l.dispose();
      noBias.dispose();
    });
  });

  it("saves and loads the weight in PyTorch's [out, in] layout", () => {
    const l = new Linear(4, 3, new ParameterInit(2));
    const state = l.stateDict();
    expect(state["weight"]!.shape).toEqual([3, 4]);
    expect(state["bias"]!.shape).toEqual([3]);
    const back = new Linear(4, 3, new ParameterInit(9));
    back.loadStateDict(state);
    expect(maxDiff(back.weight, l.weight)).toBe(0);
    tf.dispose(Object.values(state));
    l.dispose();
    back.dispose();
  });

  it("applies an activation after the bias (the fused path) and adds a delta before it", () => {
    tf.tidy(() => {
      const l = new Linear(6, 5, new ParameterInit(3, { std: 0.5 }));
      l.bias!.assign(tf.randomNormal([5], 0, 1, "float32", 4));
      const x = tf.randomNormal([3, 6], 0, 1, "float32", 5);
      const z = tf.add(tf.matMul(x, l.weight), l.bias!);
      expect(maxDiff(l.forward(x, { activation: "gelu" }), activationReference(z, "gelu"))).toBeLessThan(1e-5);
      const delta: LinearDelta = { apply: (t) => tf.mul(tf.sum(t, -1, true), tf.ones([1, 5])) };
      l.delta = delta;
      const shifted = tf.add(z, tf.sum(x, -1, true));
      expect(maxDiff(l.forward(x, { activation: "silu" }), activationReference(shifted, "silu"))).toBeLessThan(1e-5);
      expect(maxDiff(l.forward(x), shifted)).toBeLessThan(1e-5);
      l.dispose();
    });
  });

  it("skips a data input's gradient under a tape (no product of x's shape), with the same values and gradients", async () => {
    const l = new Linear(6, 5, new ParameterInit(3, { std: 0.5 }));
    l.bias!.assign(tf.randomNormal([5], 0, 1, "float32", 4));
    const x = tf.randomNormal([7, 6], 0, 1, "float32", 8);
    const step = (dataInput: boolean) =>
      tf.variableGrads(() => tf.sum(tf.square(l.forward(x, { dataInput }))) as tf.Scalar, [l.weight, l.bias!]);
    const values = (dataInput: boolean) => {
      const { value, grads } = step(dataInput);
      const out = [value, grads[l.weight.name]!, grads[l.bias!.name]!].map((t) => Array.from(t.dataSync()));
      tf.dispose([value, ...Object.values(grads)]);
      return out;
    };
    expect(values(true)).toEqual(values(false));
    const shapes = async (dataInput: boolean) =>
      (await tf.profile(() => tf.dispose(Object.values(step(dataInput).grads)))).kernels
        .filter((k) => k.name.includes("MatMul"))
        .map((k) => `${k.outputShapes}`);
    const dx = (s: string[]) => s.some((shape) => shape.endsWith("7,6"));
    expect(dx(await shapes(false))).toBe(true); // the fused product's gradient computes x's
    expect(dx(await shapes(true))).toBe(false);
    // Without a tape the fused product runs either way.
    tf.tidy(() => {
      expect(maxDiff(l.forward(x, { dataInput: true }), l.forward(x))).toBe(0);
    });
    x.dispose();
    l.dispose();
  });

  it("holds the weight as bf16 for inference only", () => {
    const l = new Linear(8, 4, new ParameterInit(6), { bias: false });
    const x = tf.randomNormal([2, 8], 0, 1, "float32", 1);
    const f32 = l.forward(x);
    l.useBf16();
    expect(l.weightDtype).toBe("bfloat16");
    expect(l.bf16Weight!.shape).toEqual([8, 4]);
    const b16 = l.forward(x);
    expect(maxDiff(f32, b16)).toBeLessThan(0.02);
    expect(() => l.forward(x, { training: true })).toThrow(/bfloat16 weights \(inference only\)/);
    expect(() => l.useBf16()).toThrow(/already bfloat16/);
    tf.dispose([x, f32, b16]);
    l.dispose();
  });
});
