import { describe, expect, it } from "vitest";
import { fromHF, fromTimm, vitBase, vitConfig, vitSmall, vitTiny } from "./config.js";
import { toHFJson, toTimmJson } from "./config-export.js";

describe("ViTConfig", () => {
  it("has the ViT presets", () => {
    expect([vitTiny.hiddenSize, vitTiny.depth, vitTiny.numHeads, vitTiny.mlpSize]).toEqual([192, 12, 3, 768]);
    expect([vitSmall.hiddenSize, vitSmall.numHeads, vitSmall.mlpSize]).toEqual([384, 6, 1536]);
    expect([vitBase.hiddenSize, vitBase.numHeads, vitBase.mlpSize]).toEqual([768, 12, 3072]);
  });

  it("rejects impossible shapes, naming the field", () => {
    expect(() => vitConfig({ imageSize: 100 })).toThrow(/imageSize 100 is not a multiple of patchSize 16/);
    expect(() => vitConfig({ numHeads: 5 })).toThrow(/hiddenSize 192 is not divisible by numHeads 5/);
    expect(() => vitConfig({ classToken: false, pooling: "cls" })).toThrow(/pooling 'cls' needs classToken/);
    expect(() => vitConfig({ dropPathRate: 1 })).toThrow(/dropPathRate/);
  });

  it("reads a timm hub config.json by architecture name and pretrained_cfg", () => {
    const c = fromTimm({
      architecture: "vit_small_patch16_384",
      num_classes: 1000,
      global_pool: "token",
      pretrained_cfg: { input_size: [3, 384, 384], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    });
    expect([c.hiddenSize, c.numHeads, c.depth, c.imageSize, c.patchSize, c.numClasses]).toEqual([
      384, 6, 12, 384, 16, 1000,
    ]);
    expect(c.mean).toEqual([0.485, 0.456, 0.406]);
    expect(c.layerNormEps).toBe(1e-6);
    expect(c.cropPct).toBe(1);
  });

  it("keeps the evaluation crop (pretrained_cfg.crop_pct) and the stem widths through a timm config.json", () => {
    const c = vitConfig({ cropPct: 0.875, stemWidths: [24, 48], patchSize: 8, imageSize: 64 });
    const json = toTimmJson(c);
    expect((json.pretrained_cfg as Record<string, unknown>).crop_pct).toBe(0.875);
    const back = fromTimm(json);
    expect([back.cropPct, back.stemWidths]).toEqual([0.875, [24, 48]]);
    expect(() => vitConfig({ cropPct: 0 })).toThrow("ViTConfig: cropPct must be in (0, 1], got 0");
    expect(() => vitConfig({ stemWidths: [8, 8, 8, 8, 8], patchSize: 16 })).toThrow(
      "ViTConfig: patchSize 16 is not a multiple of 2^5 (one halving per stem stage)",
    );
  });

  it("lets the weights' shapes win over the timm name", () => {
    const c = fromTimm(
      { architecture: "vit_tiny_patch16_224", num_classes: 1000 },
      { depth: 4, grid: 8, numClasses: 200 },
    );
    expect([c.depth, c.imageSize, c.numClasses]).toEqual([4, 128, 200]);
  });

  it("knows DeiT and DeiT III timm names", () => {
    const d3 = fromTimm({ architecture: "deit3_small_patch16_224", num_classes: 1000 });
    expect([d3.hiddenSize, d3.noEmbedClass, d3.layerScaleInit]).toEqual([384, true, 1e-6]);
    const dd = fromTimm({ architecture: "deit_tiny_distilled_patch16_224", num_classes: 1000 });
    expect([dd.distillationToken, dd.distillationHead]).toEqual([true, true]);
    // The weights' shapes say otherwise: no LayerScale, embedded class token.
    const w = fromTimm({ architecture: "deit3_small_patch16_224" }, { layerScale: false, noEmbedClass: false });
    expect([w.noEmbedClass, w.layerScaleInit]).toEqual([false, 0]);
  });

  it("maps timm global_pool to pooling and back", () => {
    expect(fromTimm({ global_pool: "map", class_token: false }).pooling).toBe("attention");
    expect(fromTimm({ global_pool: "avg" }).pooling).toBe("mean");
    const round = fromTimm(toTimmJson(vitConfig({ pooling: "mean", depth: 3, numClasses: 7, imageSize: 64 })));
    expect([round.pooling, round.depth, round.numClasses, round.imageSize]).toEqual(["mean", 3, 7, 64]);
  });

  it("reads a Hugging Face ViT config.json (eps 1e-12 default, labels from id2label)", () => {
    const c = fromHF({
      hidden_size: 192,
      num_hidden_layers: 2,
      num_attention_heads: 3,
      intermediate_size: 768,
      architectures: ["ViTForImageClassification"],
      id2label: { 0: "a", 1: "b", 2: "c" },
    });
    expect([c.hiddenSize, c.depth, c.numHeads, c.mlpSize, c.numClasses, c.layerNormEps]).toEqual([
      192, 2, 3, 768, 3, 1e-12,
    ]);
    expect(() => fromHF({ hidden_act: "gelu_new" })).toThrow(/hidden_act 'gelu_new'/);
    const round = fromHF(toHFJson(c));
    expect(round).toEqual({ ...c });
  });
});
