import { mkdtemp, readdir, rm, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tf, type VisionFeatures } from "@birdvlm/core";
import { LinearProjector, MlpProjector, loadProjector } from "./index.js";

function features(b: number, rows: number, cols: number, d: number): VisionFeatures {
  const patches = tf.randomNormal([b, rows * cols, d], 0, 1, "float32", 7) as tf.Tensor3D;
  const cls = tf.randomNormal([b, d], 0, 1, "float32", 8) as tf.Tensor2D;
  return {
    patches,
    cls,
    lastHiddenState: tf.concat([tf.expandDims(cls, 1), patches], 1) as tf.Tensor3D,
    grid: [rows, cols],
  };
}

describe("MlpProjector", () => {
  it("maps [B,N,Dv] features to [B,K,D] with hidden = output by default", () => {
    const p = new MlpProjector({ inputDim: 6, outputDim: 10, seed: 1 });
    expect(p.config.hiddenDim).toBe(10);
    expect(p.tokenCount([14, 14])).toBe(49);
    expect(p.forward(features(2, 14, 14, 6)).shape).toEqual([2, 49, 10]);
    expect(p.namedParameters().map(([n, v]) => [n, v.shape])).toEqual([
      ["linear_1.weight", [6, 10]],
      ["linear_1.bias", [10]],
      ["linear_2.weight", [10, 10]],
      ["linear_2.bias", [10]],
    ]);
    expect(Object.fromEntries(Object.entries(p.stateDict()).map(([n, t]) => [n, t.shape]))["linear_1.weight"]).toEqual([
      10, 6,
    ]);
    p.dispose();
  });

  it("computes linear_2(gelu(linear_1(x)))", () => {
    const p = new MlpProjector({ inputDim: 3, hiddenDim: 4, outputDim: 2, pooling: { mode: "cls" }, seed: 2 });
    const f = features(1, 2, 2, 3);
    const x = f.cls!.arraySync()[0]!;
    const w1 = p.linear1.weight.arraySync() as number[][],
      b1 = p.linear1.bias.arraySync() as number[];
    const w2 = p.linear2.weight.arraySync() as number[][],
      b2 = p.linear2.bias.arraySync() as number[];
    const h = b1.map((b, j) => b + x.reduce((s, xi, i) => s + xi * w1[i]![j]!, 0));
    const g = h.map((v) => 0.5 * v * (1 + erfApprox(v / Math.SQRT2)));
    const want = b2.map((b, k) => b + g.reduce((s, gj, j) => s + gj * w2[j]![k]!, 0));
    const got = p.forward(f).dataSync();
    want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 4));
  });

  it("gives every weight a gradient", () => {
    const p = new MlpProjector({ inputDim: 4, outputDim: 5, pooling: { mode: "avg", outputGrid: [2, 2] }, seed: 3 });
    const f = features(2, 4, 4, 4);
    const vars = p.trainableParameters().map(([, v]) => v);
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(p.forward(f))) as tf.Scalar, vars);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    for (const v of vars) {
      const g = grads[v.name]!;
      expect(g.shape).toEqual(v.shape);
      expect(tf.sum(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    }
  });

  it("rejects features of the wrong width, naming both widths", () => {
    const p = new MlpProjector({ inputDim: 8, outputDim: 4 });
    expect(() => p.forward(features(1, 14, 14, 6))).toThrow(/width 6.*inputDim 8/);
  });

  it("saves and loads config and weights, giving the same output", async () => {
    const dir = await mkdtemp(join(tmpdir(), "projector-"));
    try {
      for (const p of [
        new MlpProjector({
          inputDim: 4,
          hiddenDim: 7,
          outputDim: 5,
          pooling: { mode: "avg", outputGrid: [2, 2] },
          seed: 4,
        }),
        new LinearProjector({ inputDim: 4, outputDim: 3, pooling: { mode: "all" }, seed: 5 }),
      ]) {
        await p.save(dir);
        const config = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
        expect(config.kind).toBe(p.config.kind);
        const q = await loadProjector(dir);
        expect(q.config).toEqual(p.config);
        const f = features(2, 4, 4, 4);
        expect(maxDiff(q.forward(f), p.forward(f))).toBe(0);
        p.dispose();
        q.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("leaks no tensors in a forward-backward loop", () => {
    const p = new MlpProjector({ inputDim: 4, outputDim: 4, seed: 6 });
    const f = features(1, 14, 14, 4);
    const vars = p.trainableParameters().map(([, v]) => v);
    const step = () =>
      tf.tidy(() => {
        tf.variableGrads(() => tf.mean(p.forward(f)) as tf.Scalar, vars);
      });
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("LinearProjector", () => {
  it("is one linear map per token", () => {
    const p = new LinearProjector({ inputDim: 4, outputDim: 3, pooling: { mode: "all" }, seed: 9 });
    const f = features(2, 2, 2, 4);
    const want = tf.reshape(
      tf.add(tf.matMul(tf.reshape(f.patches, [8, 4]), p.linear.weight), p.linear.bias),
      [2, 4, 3],
    );
    expect(maxDiff(p.forward(f), want)).toBeLessThan(1e-6);
    expect(p.tokenCount([2, 2])).toBe(4);
  });
});

function erfApprox(x: number): number {
  const s = Math.sign(x),
    a = Math.abs(x),
    t = 1 / (1 + 0.3275911 * a);
  return (
    s *
    (1 -
      ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
        t *
        Math.exp(-a * a))
  );
}

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
}

describe("Projector.save", () => {
  it("leaves the old folder intact when a save fails part way (and no temporary folder behind)", async () => {
    const root = await mkdtemp(join(tmpdir(), "projector-atomic-"));
    const dir = join(root, "projector");
    try {
      const old = new MlpProjector({ inputDim: 4, outputDim: 3, pooling: { mode: "all" }, seed: 1 });
      await old.save(dir);
      const before = await readFile(join(dir, "model.safetensors"));
      const p = new LinearProjector({ inputDim: 4, outputDim: 3, pooling: { mode: "all" }, seed: 2 });
      const stale = tf.zeros([3]);
      stale.dispose();
      // config.json is written first, then the weights meet a freed tensor and the write throws
      p.stateDict = () => ({ "linear.weight": tf.zeros([3, 4]), "linear.bias": stale });
      await expect(p.save(dir)).rejects.toThrow();
      expect(await readdir(root)).toEqual(["projector"]);
      expect(JSON.parse(await readFile(join(dir, "config.json"), "utf8")).kind).toBe("mlp");
      expect((await readFile(join(dir, "model.safetensors"))).equals(before)).toBe(true);
      const back = await loadProjector(dir);
      const f = features(1, 2, 2, 4);
      expect(maxDiff(back.forward(f), old.forward(f))).toBe(0);
      [old, p, back].forEach((m) => m.dispose());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
