import { describe, expect, it } from "vitest";
import { SGD, tf } from "../../index.js";

// Expected values derived by hand from torch.optim.SGD's update rule for loss p² (gradient 2p), p₀ = 1, lr 0.1.
function run(options: ConstructorParameters<typeof SGD>[1], steps: number, names = ["w"]): number[] {
  const p = tf.variable(tf.tensor1d([1]));
  const opt = new SGD([[names[0]!, p]], options);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const g = tf.tidy(() => tf.mul(p, 2));
    opt.step({ [names[0]!]: g });
    g.dispose();
    out.push(p.dataSync()[0]!);
  }
  opt.dispose();
  p.dispose();
  return out;
}

describe("SGD", () => {
  it("plain: p ← p − lr·g", () => {
    const r = run({ lr: 0.1 }, 2);
    expect(r[0]).toBeCloseTo(0.8, 7);
    expect(r[1]).toBeCloseTo(0.64, 7);
  });

  it("momentum: the buffer starts at the first gradient", () => {
    // b₁ = 2, p₁ = 0.8; g₂ = 1.6, b₂ = 0.9·2 + 1.6 = 3.4, p₂ = 0.8 − 0.34 = 0.46
    const r = run({ lr: 0.1, momentum: 0.9 }, 2);
    expect(r[0]).toBeCloseTo(0.8, 7);
    expect(r[1]).toBeCloseTo(0.46, 7);
  });

  it("nesterov: g + μ·b", () => {
    // b₁ = 2, g = 2 + 1.8 = 3.8, p₁ = 0.62; g₂ = 1.24, b₂ = 1.8 + 1.24 = 3.04, g = 1.24 + 2.736 = 3.976, p₂ = 0.2224
    const r = run({ lr: 0.1, momentum: 0.9, nesterov: true }, 2);
    expect(r[0]).toBeCloseTo(0.62, 7);
    expect(r[1]).toBeCloseTo(0.2224, 6);
  });

  it("weight decay is added to the gradient (coupled) for a parameter that decays", () => {
    // rank-1 'w' is excluded by default; the group makes it decay: g = 2p + 0.5p = 2.5, p₁ = 0.75
    const r = run({ lr: 0.1, weightDecay: 0.5, groups: [{ match: /w/, weightDecay: 0.5 }] }, 1);
    expect(r[0]).toBeCloseTo(0.75, 7);
    expect(run({ lr: 0.1, weightDecay: 0.5 }, 1)[0]).toBeCloseTo(0.8, 7);
  });

  it("exports the momentum buffer and rejects nesterov without momentum", () => {
    const p = tf.variable(tf.tensor1d([1, 2]));
    const opt = new SGD([["w", p]], { lr: 0.1, momentum: 0.9 });
    const g = tf.tensor1d([1, 1]);
    opt.step({ w: g });
    const st = opt.stateDict();
    expect(Array.from(st["w.momentum_buffer"]!.dataSync())).toEqual([1, 1]);
    Object.values(st).forEach((t) => t.dispose());
    g.dispose();
    opt.dispose();
    p.dispose();
    expect(() => new SGD([], { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
  });
});
