import { describe, expect, it } from "vitest";
import { Module, tf } from "../index.js";

class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(inDim: number, outDim: number) {
    super();
    this.weight = this.registerParameter("weight", tf.randomNormal([inDim, outDim]), { transposed: true });
    this.bias = this.registerParameter("bias", tf.zeros([outDim]));
  }
}
class Net extends Module {
  readonly fc = this.registerModule("fc", new Linear(3, 2));
  readonly norm = this.registerModule("norm", new Linear(2, 2));
}

describe("Module", () => {
  it("names parameters by path and counts them", () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual(["fc.weight", "fc.bias", "norm.weight", "norm.bias"]);
    expect(net.parameterCount()).toBe(3 * 2 + 2 + 2 * 2 + 2);
    net.fc.freeze();
    expect(net.parameterCount({ trainableOnly: true })).toBe(6);
    net.dispose();
  });

  it("round-trips a state dict in the reference [out,in] layout", () => {
    const a = new Net();
    const b = new Net();
    const sd = a.stateDict();
    expect(sd["fc.weight"]!.shape).toEqual([2, 3]);
    b.loadStateDict(sd);
    expect(Array.from(b.fc.weight.dataSync())).toEqual(Array.from(a.fc.weight.dataSync()));
    Object.values(sd).forEach((t) => t.dispose());
    a.dispose();
    b.dispose();
  });

  it("lists missing, unexpected and wrongly shaped names in one error", () => {
    const net = new Net();
    const sd = net.stateDict();
    sd["fc.weight"]!.dispose();
    sd["fc.weight"] = tf.zeros([3, 2]);
    delete sd["norm.bias"];
    sd["extra"] = tf.zeros([1]);
    expect(() => net.loadStateDict(sd, { source: "x.safetensors" })).toThrow(
      /x\.safetensors.*wrong shape: fc\.weight: expected \[2,3\], got \[3,2\].*missing: norm\.bias.*unexpected: extra/,
    );
    Object.values(sd).forEach((t) => t.dispose());
    net.dispose();
  });
});
