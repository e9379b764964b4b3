import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSafetensors, tf, writeSafetensors } from "@birdvlm/core";
import { writeFile } from "node:fs/promises";
import { VisionTransformer } from "./vision-transformer.js";
import type { ViTConfig } from "./config.js";

const small: Partial<ViTConfig> = {
  imageSize: 32,
  patchSize: 8,
  hiddenSize: 24,
  depth: 2,
  numHeads: 2,
  mlpSize: 48,
  numClasses: 5,
};
const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "vit-test-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function images(b: number, size = 32, seed = 1): tf.Tensor4D {
  return tf.randomNormal([b, size, size, 3], 0, 1, "float32", seed) as tf.Tensor4D;
}

function exactlyEqual(a: tf.Tensor, b: tf.Tensor): boolean {
  return tf.tidy(() => tf.all(tf.equal(a, b)).dataSync()[0] === 1);
}

describe("VisionTransformer", () => {
  it("is reproducible for a seed and differs across seeds", () => {
    const a = new VisionTransformer(small, { seed: 3 });
    const b = new VisionTransformer(small, { seed: 3 });
    const c = new VisionTransformer(small, { seed: 4 });
    const [pa, pb, pc] = [a, b, c].map((m) => m.namedParameters());
    expect(pa.map(([n]) => n)).toEqual(pb!.map(([n]) => n));
    expect(pa!.every(([, v], i) => exactlyEqual(v, pb![i]![1]))).toBe(true);
    expect(
      exactlyEqual(
        pa!.find(([n]) => n === "blocks.0.attn.qkv.weight")![1],
        pc!.find(([n]) => n === "blocks.0.attn.qkv.weight")![1],
      ),
    ).toBe(false);
    const std = tf.tidy(
      () => tf.sqrt(tf.moments(pa!.find(([n]) => n === "blocks.0.mlp.fc1.weight")![1]).variance).dataSync()[0]!,
    );
    expect(std).toBeGreaterThan(0.014);
    expect(std).toBeLessThan(0.02);
    [a, b, c].forEach((m) => m.dispose());
  });

  it("starts its linear layers as PyTorch does with linearInit 'uniform' (weights and biases in ±1/√fan_in)", () => {
    const vit = new VisionTransformer(small, { seed: 3, linearInit: "uniform" });
    const params = Object.fromEntries(vit.namedParameters());
    const range = (name: string) =>
      tf.tidy(() => [tf.min(params[name]!).dataSync()[0]!, tf.max(params[name]!).dataSync()[0]!]);
    const fanIn = params["blocks.0.mlp.fc1.weight"]!.shape[0]!;
    for (const name of ["blocks.0.mlp.fc1.weight", "blocks.0.mlp.fc1.bias"]) {
      const [lo, hi] = range(name);
      expect(hi).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
      expect(lo).toBeGreaterThanOrEqual(-1 / Math.sqrt(fanIn));
      expect(hi - lo).toBeGreaterThan(1.8 / Math.sqrt(fanIn)); // spread over the range, not timm's std 0.02
    }
    vit.dispose();
  });

  it("encodes into VisionFeatures and classifies, without leaking", () => {
    const m = new VisionTransformer(small, { seed: 1 });
    const x = images(2);
    const before = tf.memory().numTensors;
    const f = m.encode(x);
    expect(f.lastHiddenState.shape).toEqual([2, 17, 24]);
    expect(f.cls!.shape).toEqual([2, 24]);
    expect(f.patches.shape).toEqual([2, 16, 24]);
    expect(f.grid).toEqual([4, 4]);
    const logits = m.classify(x);
    expect(logits.shape).toEqual([2, 5]);
    tf.dispose([f.lastHiddenState, f.cls!, f.pooled!, f.patches, logits]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    m.dispose();
  });

  it("rejects images that do not fit the patch size, naming the shape", () => {
    const m = new VisionTransformer(small, { seed: 1 });
    const x = tf.zeros([1, 30, 30, 3]) as tf.Tensor4D;
    expect(() => m.encode(x)).toThrow(/30x30 is not a multiple of the patch size 8/);
    x.dispose();
    m.dispose();
  });

  it("pools the class token, the mean of the patch tokens, or a learned attention query", () => {
    const x = images(2);
    for (const pooling of ["cls", "mean", "attention"] as const) {
      const m = new VisionTransformer({ ...small, pooling }, { seed: 5 });
      tf.tidy(() => {
        const out = m.forward(x);
        const [b, t, d] = out.lastHiddenState.shape;
        expect(out.pooled.shape).toEqual([2, 24]);
        if (pooling === "cls")
          expect(
            exactlyEqual(out.pooled, tf.reshape(tf.slice(out.lastHiddenState, [0, 0, 0], [b, 1, d]), [b, d])),
          ).toBe(true);
        if (pooling === "mean") {
          const manual = tf.div(tf.sum(tf.slice(out.lastHiddenState, [0, 1, 0], [b, t - 1, d]), 1), t - 1);
          expect(tf.max(tf.abs(tf.sub(out.pooled, manual))).dataSync()[0]).toBeLessThan(1e-5);
        }
        if (pooling === "attention") {
          expect(m.namedParameters().map(([n]) => n)).toContain("attn_pool.latent");
          // timm AttentionPoolLatent, computed head by head: softmax(q k^T / sqrt(d)) v, proj, + mlp(norm(.)).
          const p = m.attn_pool!;
          const hd = d / 2;
          const q = p.q.forward(tf.reshape(p.latent, [1, d]));
          const kv = p.kv.forward(out.lastHiddenState);
          const heads = [0, 1].map((h) => {
            const qh = tf.slice(q, [0, h * hd], [1, hd]);
            const kh = tf.slice(kv, [0, 0, h * hd], [b, t, hd]);
            const vh = tf.slice(kv, [0, 0, d + h * hd], [b, t, hd]);
            const w = tf.softmax(tf.div(tf.sum(tf.mul(kh, tf.reshape(qh, [1, 1, hd])), 2), Math.sqrt(hd)));
            return tf.sum(tf.mul(vh, tf.expandDims(w, 2)), 1);
          });
          const y = p.proj.forward(tf.concat(heads, 1));
          const manual = tf.add(y, p.mlp.forward(p.norm.forward(y), { training: false, nextSeed: () => 0 }));
          expect(tf.max(tf.abs(tf.sub(out.pooled, manual))).dataSync()[0]).toBeLessThan(1e-5);
        }
      });
      m.dispose();
    }
    const noCls = new VisionTransformer({ ...small, classToken: false, pooling: "mean" }, { seed: 5 });
    tf.tidy(() => {
      expect(noCls.forward(x).lastHiddenState.shape).toEqual([2, 16, 24]);
    });
    noCls.dispose();
    x.dispose();
  });

  it("applies drop-path and dropout only in training", () => {
    const m = new VisionTransformer({ ...small, dropPathRate: 0.5, dropout: 0.1 }, { seed: 2 });
    const x = images(4);
    tf.tidy(() => {
      const a = m.forward(x).logits!;
      const b = m.forward(x).logits!;
      expect(exactlyEqual(a, b)).toBe(true);
      const t1 = m.forward(x, { training: true }).logits!;
      const t2 = m.forward(x, { training: true }).logits!;
      expect(exactlyEqual(t1, t2)).toBe(false);
      expect(exactlyEqual(t1, a)).toBe(false);
    });
    // Drop-path alone drops whole residual branches per sample: with rate ~1 every branch is gone and the
    // output is the norm of the embeddings.
    const dp = new VisionTransformer({ ...small, dropPathRate: 0.999999, depth: 1 }, { seed: 2 });
    tf.tidy(() => {
      const trained = dp.forward(x, { training: true }).lastHiddenState;
      const embedded = tf.add(
        tf.concat([tf.tile(dp.cls_token!, [4, 1, 1]), dp.patch_embed.forward(x)], 1),
        dp.pos_embed,
      );
      expect(tf.max(tf.abs(tf.sub(trained, dp.norm!.forward(embedded)))).dataSync()[0]).toBeLessThan(1e-5);
    });
    x.dispose();
    m.dispose();
    dp.dispose();
  });

  it("has gradients for every parameter, for every pooling", () => {
    const x = images(2);
    for (const pooling of ["cls", "mean", "attention"] as const) {
      const m = new VisionTransformer({ ...small, pooling, dropPathRate: 0.1 }, { seed: 9 });
      const vars = m.trainableParameters().map(([, v]) => v);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(m.forward(x, { training: true }).logits!)) as tf.Scalar,
        vars,
      );
      const missing = m
        .trainableParameters()
        .filter(([, v]) => !grads[v.name])
        .map(([n]) => n);
      expect(missing).toEqual([]);
      const norms = tf.tidy(() => Object.values(grads).map((g) => tf.sum(tf.abs(g)).dataSync()[0]!));
      expect(norms.every((n) => Number.isFinite(n))).toBe(true);
      tf.dispose([value, ...Object.values(grads)]);
      m.dispose();
    }
    x.dispose();
  });

  it("headOnly: a class-token head's last block computes the prefix rows alone, with the same logits and gradients", async () => {
    const backend = tf.getBackend();
    // The native backend's packed-qkv kernel and the composition elsewhere; distillation gives two prefix rows.
    for (const name of [...new Set([backend, "cpu"])]) {
      await tf.setBackend(name);
      for (const extra of [{}, { distillationToken: true, distillationHead: true }, { pooling: "mean" as const }]) {
        const m = new VisionTransformer({ ...small, depth: 3, numHeads: 3, hiddenSize: 48, ...extra }, { seed: 4 });
        const x = images(3);
        const labels = tf.tensor1d([0, 3, 4], "int32");
        const vars = m.trainableParameters().map(([, v]) => v);
        const run = (headOnly: boolean) =>
          tf.variableGrads(() => {
            const out = m.forward(x, { training: true, headOnly });
            const patches = (small.imageSize! / small.patchSize!) ** 2;
            expect(out.lastHiddenState.shape[1]).toBe(
              headOnly && extra.pooling !== "mean" ? m.numPrefixTokens : m.numPrefixTokens + patches,
            );
            return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), out.logits!) as tf.Scalar;
          }, vars);
        const full = run(false);
        const before = tf.memory().numTensors;
        const head = run(true);
        expect(Math.abs(head.value.dataSync()[0]! - full.value.dataSync()[0]!)).toBeLessThan(1e-6);
        for (const [n, v] of m.trainableParameters()) {
          const [a, b] = [head.grads[v.name]!, full.grads[v.name]!];
          const err = tf.tidy(
            () => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! / (tf.max(tf.abs(b)).dataSync()[0]! + 1e-12),
          );
          expect(err, `${name} ${JSON.stringify(extra)} gradient of ${n}`).toBeLessThan(1e-5);
        }
        tf.dispose([head.value, ...Object.values(head.grads)]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([full.value, ...Object.values(full.grads), x, labels]);
        m.dispose();
      }
    }
    await tf.setBackend(backend);
  });

  it("encodes the vector its head reads as features.pooled (attention pooling: not the class token)", () => {
    const m = new VisionTransformer({ ...small, pooling: "attention" }, { seed: 1 });
    const x = images(2);
    const f = m.encode(x);
    const out = tf.tidy(() => {
      const o = m.forward(x);
      return [o.pooled, tf.sub(m.head!.forward(f.pooled!), o.logits!)];
    });
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(f.pooled!, out[0]!))).dataSync()[0])).toBe(0);
    expect(tf.tidy(() => tf.max(tf.abs(out[1]!)).dataSync()[0])).toBeLessThan(1e-5);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(f.pooled!, f.cls!))).dataSync()[0])).toBeGreaterThan(0.1);
    tf.dispose([f.lastHiddenState, f.cls!, f.pooled!, f.patches, x, ...out]);
    m.dispose();
  });

  it("interpolates position embeddings for a larger input", () => {
    const m = new VisionTransformer(small, { seed: 1 });
    const x = images(1, 48);
    const f = m.encode(x);
    expect(f.grid).toEqual([6, 6]);
    expect(f.patches.shape).toEqual([1, 36, 24]);
    tf.dispose([f.lastHiddenState, f.cls!, f.pooled!, f.patches, x]);
    m.dispose();
  });

  for (const format of ["timm", "hf"] as const) {
    it(`saves in ${format} layout and loads back bit-identically`, async () => {
      const m = new VisionTransformer(small, { seed: 11 });
      const dir = await tempDir();
      await m.save(dir, { format });
      const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
      const reader = await openSafetensors(join(dir, "model.safetensors"));
      const names = reader.names();
      if (format === "timm") {
        expect(json.architecture).toMatch(/^vit_/);
        expect(names).toContain("blocks.1.attn.qkv.weight");
        expect(reader.info("patch_embed.proj.weight").shape).toEqual([24, 3, 8, 8]);
        expect(reader.info("blocks.0.mlp.fc1.weight").shape).toEqual([48, 24]);
      } else {
        expect(json.architectures).toEqual(["ViTForImageClassification"]);
        expect(names).toContain("vit.encoder.layer.1.attention.attention.query.weight");
        expect(names).toContain("classifier.weight");
        expect(reader.info("vit.embeddings.patch_embeddings.projection.weight").shape).toEqual([24, 3, 8, 8]);
        // query is the first third of the fused qkv.
        const q = await reader.read("vit.encoder.layer.0.attention.attention.query.weight");
        const ref = m.stateDict();
        expect(exactlyEqual(q, tf.slice(ref["blocks.0.attn.qkv.weight"]!, [0, 0], [24, 24]))).toBe(true);
        tf.dispose([q, ...Object.values(ref)]);
      }
      await reader.close();
      const back = await VisionTransformer.load(dir);
      // A Hugging Face model resamples position embeddings as HF does (plain bicubic).
      expect(back.config).toEqual({ ...m.config, posEmbedAntialias: format === "timm" });
      const a = m.stateDict();
      const b = back.stateDict();
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      for (const k of Object.keys(a)) expect(exactlyEqual(a[k]!, b[k]!), k).toBe(true);
      tf.dispose([...Object.values(a), ...Object.values(b)]);
      m.dispose();
      back.dispose();
    });
  }

  it("round-trips attention pooling and no class token through timm", async () => {
    const m = new VisionTransformer({ ...small, pooling: "attention", classToken: false }, { seed: 12 });
    const dir = await tempDir();
    await m.save(dir);
    const back = await VisionTransformer.load(dir);
    expect(back.config.pooling).toBe("attention");
    expect(back.config.classToken).toBe(false);
    const x = images(1);
    tf.tidy(() => {
      expect(exactlyEqual(m.forward(x).logits!, back.forward(x).logits!)).toBe(true);
    });
    await expect(m.save(await tempDir(), { format: "hf" })).rejects.toThrow(/class token/);
    x.dispose();
    m.dispose();
    back.dispose();
  });

  it("loads at another image size by resampling the position embeddings", async () => {
    const m = new VisionTransformer(small, { seed: 13 });
    const dir = await tempDir();
    await m.save(dir);
    const big = await VisionTransformer.load(dir, { imageSize: 64 });
    expect(big.config.imageSize).toBe(64);
    expect(big.pos_embed.shape).toEqual([1, 65, 24]);
    // Same numbers as resampling on the fly inside the original model.
    const x = images(1, 64);
    tf.tidy(() => {
      const diff = tf.max(tf.abs(tf.sub(m.forward(x).logits!, big.forward(x).logits!))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-5);
    });
    x.dispose();
    m.dispose();
    big.dispose();
  });

  it("supports DeiT's distillation token and head in both layouts", async () => {
    const cfg = { ...small, distillationToken: true, distillationHead: true };
    const m = new VisionTransformer(cfg, { seed: 21 });
    const x = images(2);
    tf.tidy(() => {
      const out = m.forward(x);
      expect(out.lastHiddenState.shape).toEqual([2, 18, 24]);
      const [b, , d] = out.lastHiddenState.shape;
      const token = (i: number) => tf.reshape(tf.slice(out.lastHiddenState, [0, i, 0], [b, 1, d]), [b, d]);
      const manual = tf.div(tf.add(m.head!.forward(token(0)), m.head_dist!.forward(token(1))), 2);
      expect(tf.max(tf.abs(tf.sub(out.logits!, manual))).dataSync()[0]).toBeLessThan(1e-6);
    });
    const f = m.encode(x);
    expect(f.patches.shape).toEqual([2, 16, 24]);
    tf.dispose([f.lastHiddenState, f.cls!, f.pooled!, f.patches]);
    const maps = m.attentionMaps(x);
    expect(maps.shape).toEqual([2, 2, 2, 4, 4]);
    maps.dispose();
    for (const format of ["timm", "hf"] as const) {
      const dir = await tempDir();
      await m.save(dir, { format });
      const json = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
      const reader = await openSafetensors(join(dir, "model.safetensors"));
      if (format === "timm") {
        expect(json.architecture).toBe("deit_custom_distilled_patch8_32");
        expect(reader.names()).toEqual(expect.arrayContaining(["dist_token", "head_dist.weight"]));
      } else {
        expect(json.model_type).toBe("deit");
        expect(json.architectures).toEqual(["DeiTForImageClassificationWithTeacher"]);
        expect(reader.names()).toEqual(
          expect.arrayContaining([
            "deit.embeddings.distillation_token",
            "cls_classifier.weight",
            "distillation_classifier.bias",
            "deit.encoder.layer.1.attention.attention.value.weight",
          ]),
        );
      }
      await reader.close();
      const back = await VisionTransformer.load(dir);
      expect(back.config.distillationToken).toBe(true);
      expect(back.config.distillationHead).toBe(true);
      tf.tidy(() => {
        expect(exactlyEqual(m.forward(x).logits!, back.forward(x).logits!)).toBe(true);
      });
      back.dispose();
    }
    x.dispose();
    m.dispose();
  });

  it("names the file or tensor when a checkpoint is bad", async () => {
    const m = new VisionTransformer(small, { seed: 31 });
    const dir = await tempDir();
    await expect(VisionTransformer.load(dir)).rejects.toThrow(/config\.json/);
    await m.save(dir);
    const sd = m.stateDict();
    // An extra tensor the model does not have.
    await writeSafetensors(join(dir, "model.safetensors"), { ...sd, "blocks.0.attn.extra.weight": sd["norm.weight"]! });
    await expect(VisionTransformer.load(dir)).rejects.toThrow(
      /model\.safetensors.*unexpected: blocks\.0\.attn\.extra\.weight/,
    );
    // Not a ViT at all.
    await writeSafetensors(join(dir, "model.safetensors"), { "lm_head.weight": sd["norm.weight"]! });
    await expect(VisionTransformer.load(dir)).rejects.toThrow(/neither a timm ViT .* nor a Hugging Face ViT/);
    // HF layout with a layer missing its key projection.
    await m.save(dir, { format: "hf" });
    const r = await openSafetensors(join(dir, "model.safetensors"));
    const hf: Record<string, tf.Tensor> = {};
    for (const n of r.names()) if (!n.includes("layer.1.attention.attention.key")) hf[n] = await r.read(n);
    await r.close();
    await writeSafetensors(join(dir, "model.safetensors"), hf);
    await expect(VisionTransformer.load(dir)).rejects.toThrow(/layer 1 has .*query.* but not all of query\/key\/value/);
    await writeFile(join(dir, "config.json"), "{ not json");
    await expect(VisionTransformer.load(dir)).rejects.toThrow(/config\.json/);
    tf.dispose([...Object.values(sd), ...Object.values(hf)]);
    m.dispose();
  });

  it("supports timm's fc_norm (norm after mean pooling) and round-trips it through timm", async () => {
    const m = new VisionTransformer({ ...small, pooling: "mean", fcNorm: true }, { seed: 41 });
    expect(m.namedParameters().map(([n]) => n)).toEqual(expect.arrayContaining(["fc_norm.weight", "fc_norm.bias"]));
    expect(m.norm).toBeUndefined();
    const x = images(2);
    tf.tidy(() => {
      const out = m.forward(x);
      const [b, t, d] = out.lastHiddenState.shape;
      const manual = m.fc_norm!.forward(tf.mean(tf.slice(out.lastHiddenState, [0, 1, 0], [b, t - 1, d]), 1));
      expect(tf.max(tf.abs(tf.sub(out.pooled, manual))).dataSync()[0]).toBeLessThan(1e-6);
    });
    const dir = await tempDir();
    await m.save(dir);
    expect(JSON.parse(await readFile(join(dir, "config.json"), "utf8")).model_args.fc_norm).toBe(true);
    const back = await VisionTransformer.load(dir);
    expect(back.config.fcNorm).toBe(true);
    tf.tidy(() => {
      expect(exactlyEqual(m.forward(x).logits!, back.forward(x).logits!)).toBe(true);
    });
    await expect(m.save(await tempDir(), { format: "hf" })).rejects.toThrow(/fcNorm true/);
    x.dispose();
    m.dispose();
    back.dispose();
  });

  it("supports timm's no_embed_class and LayerScale (DeiT III) and round-trips them through timm", async () => {
    const m = new VisionTransformer({ ...small, noEmbedClass: true, layerScaleInit: 0.1 }, { seed: 51 });
    expect(m.pos_embed.shape).toEqual([1, 16, 24]);
    expect(m.namedParameters().map(([n]) => n)).toEqual(
      expect.arrayContaining(["blocks.1.ls1.gamma", "blocks.1.ls2.gamma"]),
    );
    const x = images(2);
    // With every gamma at 0 the blocks are the identity: the output is the final norm of the embedded tokens,
    // where the position embeddings were added to the patches only.
    const gammas = m.namedParameters().filter(([n]) => n.endsWith(".gamma"));
    const saved = gammas.map(([, v]) => v.clone());
    gammas.forEach(([, v]) => v.assign(tf.zerosLike(v)));
    tf.tidy(() => {
      const embedded = tf.concat([tf.tile(m.cls_token!, [2, 1, 1]), tf.add(m.patch_embed.forward(x), m.pos_embed)], 1);
      const diff = tf.max(tf.abs(tf.sub(m.forward(x).lastHiddenState, m.norm!.forward(embedded)))).dataSync()[0]!;
      expect(diff).toBeLessThan(1e-5);
    });
    gammas.forEach(([, v], i) => v.assign(saved[i]!));
    tf.dispose(saved);
    const dir = await tempDir();
    await m.save(dir);
    const args = JSON.parse(await readFile(join(dir, "config.json"), "utf8")).model_args;
    expect([args.no_embed_class, args.init_values]).toEqual([true, 0.1]);
    const back = await VisionTransformer.load(dir);
    expect(back.config).toEqual(m.config);
    tf.tidy(() => {
      expect(exactlyEqual(m.forward(x).logits!, back.forward(x).logits!)).toBe(true);
    });
    // Another input size resamples the patch-only grid.
    const big = images(1, 48);
    const f = back.encode(big);
    expect(f.patches.shape).toEqual([1, 36, 24]);
    tf.dispose([f.lastHiddenState, f.cls!, f.pooled!, f.patches, big]);
    await expect(m.save(await tempDir(), { format: "hf" })).rejects.toThrow(/no_embed_class nor LayerScale/);
    x.dispose();
    m.dispose();
    back.dispose();
  });
});
