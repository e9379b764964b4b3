import { tf } from "@birdvlm/core";
import { afterAll, describe, expect, it } from "vitest";
import { Phi3ForCausalLM } from "./phi3-for-causal-lm.js";
import { tinyConfig } from "./test-utils.js";

const ids = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0]!.length], "int32");

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Logits of a full forward pass over `rows`, disposed inputs. */
function logitsOf(lm: Phi3ForCausalLM, rows: number[][], options = {}): tf.Tensor3D {
  const x = ids(rows);
  const { logits } = lm.forward(x, options);
  x.dispose();
  return logits;
}

describe("Phi3ForCausalLM", () => {
  const lm = new Phi3ForCausalLM(tinyConfig(), { seed: 3 });
  afterAll(() => lm.dispose());

  it("is reproducible for a seed and names its parameters like the reference", () => {
    const again = new Phi3ForCausalLM(tinyConfig(), { seed: 3 });
    const other = new Phi3ForCausalLM(tinyConfig(), { seed: 4 });
    const a = lm.namedParameters();
    expect(a.map(([n]) => n)).toContain("model.layers.1.self_attn.qkv_proj.weight");
    expect(a.map(([n]) => n)).toContain("model.layers.0.mlp.gate_up_proj.weight");
    expect(a.map(([n]) => n)).toContain("lm_head.weight");
    const sd = lm.stateDict();
    expect(sd["model.layers.0.self_attn.qkv_proj.weight"]!.shape).toEqual([48, 16]);
    expect(sd["model.layers.0.mlp.gate_up_proj.weight"]!.shape).toEqual([64, 16]);
    Object.values(sd).forEach((t) => t.dispose());
    a.forEach(([n, v], i) => expect(maxDiff(v, again.namedParameters()[i]![1]), n).toBe(0));
    expect(maxDiff(a[0]![1], other.namedParameters()[0]![1])).toBeGreaterThan(0.1);
    again.dispose();
    other.dispose();
  });

  it("gives the same logits with the KV cache as without, without leaking tensors", () => {
    const rows = [[5, 9, 3, 17, 22, 8, 41, 2]];
    const full = logitsOf(lm, rows);
    const before = tf.memory().numTensors;
    const cache = lm.newCache();
    const parts: tf.Tensor[] = [];
    for (const [s, e] of [
      [0, 3],
      [3, 4],
      [4, 8],
    ] as const) {
      const x = ids([rows[0]!.slice(s, e)]);
      const out = lm.forward(x, { cache });
      expect(out.cache).toBe(cache);
      parts.push(out.logits);
      x.dispose();
    }
    expect(cache.length).toBe(8);
    const stepped = tf.concat(parts, 1);
    expect(maxDiff(full, stepped)).toBeLessThan(1e-5);
    parts.forEach((p) => p.dispose());
    stepped.dispose();
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    full.dispose();
  });

  it("ignores left padding when positions and mask say so", () => {
    const alone = logitsOf(lm, [[7, 8, 9, 10]]);
    const x = ids([[0, 0, 7, 8, 9, 10]]);
    const mask = tf.tensor2d([[0, 0, 1, 1, 1, 1]], [1, 6], "int32");
    const { logits } = lm.forward(x, { attentionMask: mask });
    const real = tf.slice(logits, [0, 2, 0], [1, 4, 64]);
    expect(maxDiff(alone, real)).toBeLessThan(1e-5);
    tf.dispose([alone, x, mask, logits, real]);
  });

  it("uses inputsEmbeds instead of the ids' embeddings", () => {
    const x = ids([[3, 4, 5]]);
    const e = lm.embed(x);
    expect(e.shape).toEqual([1, 3, 16]);
    const a = lm.forward(x).logits;
    const b = lm.forward(null, { inputsEmbeds: e }).logits;
    expect(maxDiff(a, b)).toBe(0);
    const scaled = tf.mul(e, 2) as tf.Tensor3D;
    const c = lm.forward(null, { inputsEmbeds: scaled }).logits;
    expect(maxDiff(a, c)).toBeGreaterThan(1e-3);
    tf.dispose([x, e, a, b, scaled, c]);
  });

  it("computes grouped-query attention as multi-head attention with repeated kv heads", () => {
    const gqa = new Phi3ForCausalLM(tinyConfig({ numKeyValueHeads: 2 }), { seed: 5 });
    const mha = new Phi3ForCausalLM(tinyConfig(), { seed: 6 });
    const sd = gqa.stateDict();
    const hd = 4;
    for (let l = 0; l < 2; l++) {
      const name = `model.layers.${l}.self_attn.qkv_proj.weight`;
      const w = sd[name]!; // [(4 + 2*2) * 4, 16]
      const rows = (start: number, n: number) => tf.slice(w, [start * hd, 0], [n * hd, 16]);
      const repeat = (start: number) =>
        tf.concat(
          [0, 0, 1, 1].map((g) => tf.slice(w, [(start + g) * hd, 0], [hd, 16])),
          0,
        );
      const full = tf.concat([rows(0, 4), repeat(4), repeat(6)], 0);
      w.dispose();
      sd[name] = full;
    }
    mha.loadStateDict(sd);
    Object.values(sd).forEach((t) => t.dispose());
    const a = logitsOf(gqa, [[1, 2, 3, 4, 5, 6]]);
    const b = logitsOf(mha, [[1, 2, 3, 4, 5, 6]]);
    expect(maxDiff(a, b)).toBeLessThan(1e-5);
    tf.dispose([a, b]);
    gqa.dispose();
    mha.dispose();
  });

  it("limits attention to the sliding window (i - j < window)", () => {
    // One layer: RoPE depends only on i - j, so with window 3 the last position sees exactly the last 3 tokens.
    const one = new Phi3ForCausalLM(tinyConfig({ numHiddenLayers: 1, slidingWindow: 3 }), { seed: 7 });
    const seq = [4, 9, 13, 21, 30, 33, 40];
    const windowed = logitsOf(one, [seq]);
    const tail = logitsOf(one, [seq.slice(-3)]);
    const last = tf.slice(windowed, [0, 6, 0], [1, 1, 64]);
    const tailLast = tf.slice(tail, [0, 2, 0], [1, 1, 64]);
    expect(maxDiff(last, tailLast)).toBeLessThan(1e-4);
    const wide = new Phi3ForCausalLM(tinyConfig({ numHiddenLayers: 1, slidingWindow: 100 }), { seed: 7 });
    const unwindowed = logitsOf(wide, [seq]);
    expect(maxDiff(windowed, unwindowed)).toBeGreaterThan(1e-3);
    // the cache path masks the same way
    const cache = one.newCache();
    const outs = seq.map((t) => {
      const x = ids([[t]]);
      const o = one.forward(x, { cache }).logits;
      x.dispose();
      return o;
    });
    expect(maxDiff(outs[6]!, last)).toBeLessThan(1e-4);
    cache.dispose();
    tf.dispose([windowed, tail, last, tailLast, unwindowed, ...outs]);
    one.dispose();
    wide.dispose();
  });

  it("uses the LongRoPE short factors up to the original length and the long ones beyond, scaled", () => {
    const short = Array.from({ length: 2 }, (_, i) => 1 + i);
    const long = Array.from({ length: 2 }, (_, i) => 3 + i);
    const lm2 = new Phi3ForCausalLM(
      tinyConfig({
        maxPositionEmbeddings: 64,
        originalMaxPositionEmbeddings: 16,
        ropeScaling: { type: "longrope", shortFactor: short, longFactor: long },
      }),
    );
    const scale = Math.sqrt(1 + Math.log(64 / 16) / Math.log(16));
    expect(lm2.rotary.scaling).toBeCloseTo(scale, 12);
    const check = (positions: number[], factors: number[]) => {
      const p = tf.tensor2d([positions], [1, positions.length], "int32");
      const { cos, sin } = lm2.rotary.tables(p);
      const c = cos.arraySync()[0]![0]!;
      const s = sin.arraySync()[0]![0]!;
      positions.forEach((pos, t) => {
        for (let i = 0; i < 4; i++) {
          const f = factors[i % 2]!;
          const angle = pos / (f * Math.pow(10000, (2 * (i % 2)) / 4));
          expect(c[t]![i]!).toBeCloseTo(Math.cos(angle) * scale, 4);
          expect(s[t]![i]!).toBeCloseTo(Math.sin(angle) * scale, 4);
        }
      });
      tf.dispose([p, cos, sin]);
    };
    check([0, 5, 15], short);
    check([3, 16], long);
    lm2.dispose();
  });

  it("rotates only the first partialRotaryFactor of each head", () => {
    const lm2 = new Phi3ForCausalLM(tinyConfig({ partialRotaryFactor: 0.5 }));
    expect(lm2.rotary.rotaryDim).toBe(2);
    const p = tf.tensor2d([[7, 9]], [1, 2], "int32");
    const tables = lm2.rotary.tables(p);
    const q = tf.randomNormal([1, 4, 2, 4], 0, 1, "float32", 1) as tf.Tensor4D;
    const r = lm2.rotary.apply(q, tables);
    const pass = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, 2], [-1, -1, -1, 2]);
    const [a, b, c, d] = [
      pass(q),
      pass(r),
      tf.slice(q, [0, 0, 0, 0], [-1, -1, -1, 2]),
      tf.slice(r, [0, 0, 0, 0], [-1, -1, -1, 2]),
    ];
    expect(maxDiff(a, b)).toBe(0);
    expect(maxDiff(c, d)).toBeGreaterThan(1e-3);
    tf.dispose([p, tables.cos, tables.sin, q, r, a, b, c, d]);
    lm2.dispose();
  });

  it("ties lm_head to the embeddings when the config says so", () => {
    const tied = new Phi3ForCausalLM(tinyConfig({ tieWordEmbeddings: true }), { seed: 9 });
    expect(tied.namedParameters().map(([n]) => n)).not.toContain("lm_head.weight");
    const untied = new Phi3ForCausalLM(tinyConfig(), { seed: 10 });
    const sd = tied.stateDict();
    sd["lm_head.weight"] = sd["model.embed_tokens.weight"]!.clone();
    untied.loadStateDict(sd);
    const a = logitsOf(tied, [[1, 2, 3]]);
    const b = logitsOf(untied, [[1, 2, 3]]);
    expect(maxDiff(a, b)).toBeLessThan(1e-5);
    tf.dispose([a, b, ...Object.values(sd)]);
    tied.dispose();
    untied.dispose();
  });

  it("is differentiable, and uses dropout only in training", () => {
    const drop = new Phi3ForCausalLM(tinyConfig({ residPdrop: 0.5, embdPdrop: 0.2, attentionDropout: 0.1 }), {
      seed: 8,
    });
    const x = ids([[1, 2, 3, 4]]);
    const a = drop.forward(x).logits;
    const b = drop.forward(x).logits;
    const c = drop.forward(x, { training: true }).logits;
    expect(maxDiff(a, b)).toBe(0);
    expect(maxDiff(a, c)).toBeGreaterThan(1e-3);
    const vars = drop.trainableParameters().map(([, v]) => v);
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(drop.forward(x, { training: true }).logits)) as tf.Scalar,
      vars,
    );
    expect(Object.keys(grads)).toHaveLength(vars.length);
    for (const g of Object.values(grads)) expect(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!)).toBeGreaterThan(0);
    tf.dispose([x, a, b, c, value, ...Object.values(grads)]);
    drop.dispose();
  });

  it("rejects bad inputs with errors naming them", () => {
    const x = ids([[1, 2]]);
    expect(() => lm.forward(null)).toThrow(/inputIds or inputsEmbeds/);
    const wrong = tf.zeros([1, 2, 5]) as tf.Tensor3D;
    expect(() => lm.forward(null, { inputsEmbeds: wrong })).toThrow(/inputsEmbeds must be \[B, T, 16\]/);
    const mask = tf.ones([1, 3], "int32") as tf.Tensor2D;
    expect(() => lm.forward(x, { attentionMask: mask })).toThrow(/attentionMask: expected \[B, 2\]/);
    tf.dispose([x, wrong, mask]);
  });
});
