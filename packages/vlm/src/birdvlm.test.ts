import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Phi3ForCausalLM, Phi3Tokenizer, buildWordLevelTokenizer } from "@birdvlm/phi3";
import { VisionTransformer } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { dirname } from "node:path";
import { sharedPath } from "../../../testing/shared.js";
import { BirdVLM } from "./birdvlm.js";
import { colourImages, tinyVlm } from "./testing/tiny-parts.js";
import { trainStage, type VlmExample } from "./train-stage.js";
import { evaluate } from "./evaluate.js";
import { checksumWeights } from "./model-folder.js";

const COLOURS: Array<[number, number, number]> = [
  [1, 0, 0],
  [0, 0, 1],
  [0, 1, 0],
];
const NAMES = ["red", "blue", "green"];
const tok = buildWordLevelTokenizer(
  ["what colour is this bird? it is a red blue green. describe the bird in the image."],
  { extraSpecialTokens: ["<|image_pad|>"] },
);

function examples(n: number, offset = 0): VlmExample[] {
  return Array.from({ length: n }, (_, i) => ({
    imageId: `img${i + offset}`,
    messages: [
      { role: "user" as const, content: "<image>\nwhat colour is this bird?" },
      { role: "assistant" as const, content: `it is ${NAMES[(i + offset) % 3]}.` },
    ],
  }));
}

describe("BirdVLM", () => {
  it("checks that the parts fit and that a prompt holds exactly K markers", () => {
    const vlm = tinyVlm(tok);
    expect(vlm.imageTokens).toBe(4);
    expect(vlm.marker.token).toBe("<|image_pad|>");
    const ids = vlm.promptIds("what colour is this bird?");
    expect(ids.filter((t) => t === vlm.marker.id)).toHaveLength(4);
    const img = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    const three = [...ids.filter((t, i) => t !== vlm.marker.id || i !== ids.indexOf(vlm.marker.id))];
    expect(() => tf.tidy(() => vlm.embedWithImages([three], vlm.encodeImages(img)))).toThrow(
      /holds 3 image markers '<\|image_pad\|>' but the connector produces 4/,
    );
    expect(() => vlm.promptIds("<image><image> two?")).not.toThrow();
    vlm.dispose();
  });

  it("trains (instruct with the LM), answers by colour, batch equals single, refuses to evaluate on training images", async () => {
    const vlm = tinyVlm(tok, 1);
    const images = colourImages(36, COLOURS);
    const train = examples(30);
    // a first step creates the caches that live as long as the model (pooling matrix, rotary tables)
    await trainStage(vlm, {
      stage: "instruct",
      examples: train,
      images,
      dataset: "colours",
      steps: 1,
      batchSize: 12,
      lr: 1e-3,
      trainLanguageModel: true,
    });
    const before = tf.memory().numTensors;
    const result = await trainStage(vlm, {
      stage: "instruct",
      examples: train,
      images,
      dataset: "colours",
      steps: 60,
      batchSize: 12,
      lr: 1e-2,
      trainLanguageModel: true,
      seed: 3,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.trainedParts).toEqual(["projector", "lm"]);
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]! * 0.3);
    expect(vlm.provenance.parts.lm![0]!.imageIds).toHaveLength(30);

    const held = images.gather(["img30", "img31", "img32"]);
    const batch = await vlm.askBatch(held, ["what colour is this bird?"], { maxNewTokens: 6 });
    expect(batch).toEqual(["it is red.", "it is blue.", "it is green."]);
    for (let i = 0; i < 3; i++) {
      const one = tf.slice(held, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      const streamed: string[] = [];
      expect(
        await vlm.ask(one, "what colour is this bird?", { maxNewTokens: 6, onToken: (t) => streamed.push(t) }),
      ).toBe(batch[i]);
      expect(streamed.join("").trim()).toBe(batch[i]);
    }

    const set = {
      dataset: "colours",
      images,
      speciesNames: NAMES,
      answerTemplate: "it is {species}.",
      speciesQuestion: "what colour is this bird?",
    };
    await expect(
      evaluate(vlm, {
        ...set,
        items: ["img2", "img33"].map((id) => ({ imageId: id, species: NAMES[Number(id.slice(3)) % 3]! })),
      }),
    ).rejects.toThrow(/1 of the 2 test images trained the projector; 1 of the 2 test images trained the lm/);
    const tensorsBefore = tf.memory().numTensors;
    const report = await evaluate(vlm, {
      ...set,
      items: [30, 31, 32, 33, 34, 35].map((i) => ({
        imageId: `img${i}`,
        species: NAMES[i % 3]!,
        attributes: [{ question: "what colour is this bird?", answer: NAMES[i % 3]! }],
      })),
    });
    expect(report.speciesAccuracy).toBe(1);
    expect(report.top1).toBe(1);
    expect(report.attributeAccuracy).toBe(1);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const overlapped = await evaluate(
      vlm,
      { ...set, items: [{ imageId: "img0", species: "red" }] },
      { allowOverlap: true, rankSpecies: false },
    );
    expect(overlapped.notice).toMatch(/^overlap allowed: 1 of the 1 test images trained the projector/);

    const dir = await mkdtemp(join(tmpdir(), "birdvlm-"));
    try {
      await vlm.save(dir);
      expect((await readdir(dir)).sort()).toEqual([
        "config.json",
        "encoder",
        "lm",
        "projector",
        "provenance.json",
        "tokenizer",
      ]);
      expect(JSON.parse(await readFile(join(dir, "encoder", "provenance.json"), "utf8"))).toEqual({
        parts: { encoder: [] },
      });
      const again = await BirdVLM.load(dir);
      expect(await again.askBatch(held, ["what colour is this bird?"], { maxNewTokens: 6 })).toEqual(batch);
      expect(again.provenance).toEqual(JSON.parse(await readFile(join(dir, "provenance.json"), "utf8")));
      await expect(evaluate(again, { ...set, items: [{ imageId: "img1", species: "blue" }] })).rejects.toThrow(
        /trained the projector/,
      );
      again.dispose();
      const bf16 = await BirdVLM.load(dir, { lmWeightDtype: "bfloat16" });
      expect((bf16.lm as Phi3ForCausalLM).weightDtype).toBe("bfloat16");
      expect(await bf16.askBatch(held, ["what colour is this bird?"], { maxNewTokens: 6 })).toEqual(batch);
      bf16.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    held.dispose();
    images.dispose();
    vlm.dispose();
  });

  it("saves a frozen, unchanged LM as a reference with its checksum, and refuses a changed one", async () => {
    const vlm = tinyVlm(tok, 4);
    const dir = await mkdtemp(join(tmpdir(), "birdvlm-ref-"));
    try {
      await vlm.lm.save(join(dir, "phi3"));
      vlm.lmSource = { dir: join(dir, "phi3"), sha256: await checksumWeights(join(dir, "phi3")) };
      await vlm.save(join(dir, "model"));
      const config = JSON.parse(await readFile(join(dir, "model", "config.json"), "utf8"));
      expect(config.lm.reference).toBe(join(dir, "phi3"));
      expect((await readdir(join(dir, "model"))).includes("lm")).toBe(false);
      const again = await BirdVLM.load(join(dir, "model"));
      expect(again.lmSource?.sha256).toBe(config.lm.sha256);
      again.dispose();
      tf.tidy(() => vlm.lm.namedParameters()[0]![1].assign(tf.zerosLike(vlm.lm.namedParameters()[0]![1])));
      await vlm.lm.save(join(dir, "phi3"));
      await expect(BirdVLM.load(join(dir, "model"))).rejects.toThrow(/has checksum .* but .* was saved with/);
    } finally {
      await rm(dir, { recursive: true, force: true });
      vlm.dispose();
    }
  });

  it.skipIf(!sharedPath("data/phi3-mini-tokenizer/tokenizer.json"))(
    "uses Phi-3's reserved <|placeholder1|> as the image marker, K times per prompt",
    async () => {
      const tokenizer = await Phi3Tokenizer.load(dirname(sharedPath("data/phi3-mini-tokenizer/tokenizer.json")!));
      const encoder = new VisionTransformer(
        { imageSize: 16, patchSize: 4, hiddenSize: 8, depth: 1, numHeads: 2, mlpSize: 16, numClasses: 0 },
        { seed: 0 },
      );
      const connector = new MlpProjector({ inputDim: 8, outputDim: 8, pooling: { mode: "all" } });
      const lm = new Phi3ForCausalLM(
        { vocabSize: 32064, hiddenSize: 8, intermediateSize: 16, numHiddenLayers: 1, numAttentionHeads: 2 },
        { init: "zeros" },
      );
      const vlm = BirdVLM.create({ encoder, connector, lm, tokenizer });
      expect(vlm.marker).toEqual({ token: "<|placeholder1|>", id: 32002 });
      expect(vlm.imageTokens).toBe(16);
      const ids = vlm.promptIds("<image>\nWhat species is this bird?");
      expect(ids.filter((t) => t === 32002)).toHaveLength(16);
      expect(
        tokenizer.decode(
          ids.filter((t) => t !== 32002),
          { skipSpecialTokens: false },
        ),
      ).toContain("What species is this bird?");
      vlm.dispose();
    },
  );

  it("instruct with LoRA leaves the LM's weights alone: saved as a reference plus lora/, reloaded to the same answers", async () => {
    const vlm = tinyVlm(tok, 5);
    const images = colourImages(12, COLOURS);
    const dir = await mkdtemp(join(tmpdir(), "birdvlm-lora-"));
    try {
      await vlm.lm.save(join(dir, "phi3"));
      vlm.lmSource = { dir: join(dir, "phi3"), sha256: await checksumWeights(join(dir, "phi3")) };
      const base = vlm.lm.namedParameters().find(([n]) => n === "model.layers.0.self_attn.qkv_proj.weight")![1];
      const before = Array.from(base.dataSync());
      const r = await trainStage(vlm, {
        stage: "instruct",
        examples: examples(12),
        images,
        dataset: "colours",
        steps: 4,
        batchSize: 6,
        lr: 1e-2,
        lora: { rank: 2 },
      });
      expect(r.trainedParts).toEqual(["projector", "lm"]);
      expect(Array.from(base.dataSync())).toEqual(before);
      const loraB = vlm.lm.namedParameters().filter(([n]) => n.includes("lora_B"));
      expect(loraB.length).toBeGreaterThan(0);
      expect(loraB.some(([, v]) => tf.max(tf.abs(v)).dataSync()[0]! > 0)).toBe(true);
      expect(vlm.lmSource).toBeDefined();
      const held = images.gather(["img0", "img1"]);
      const answers = await vlm.askBatch(held, ["what colour is this bird?"], { maxNewTokens: 5 });
      await vlm.save(join(dir, "model"));
      const config = JSON.parse(await readFile(join(dir, "model", "config.json"), "utf8"));
      expect(config.lm.reference).toBe(join(dir, "phi3"));
      expect(config.lora).toEqual({ path: "lora" });
      const again = await BirdVLM.load(join(dir, "model"));
      expect(await again.askBatch(held, ["what colour is this bird?"], { maxNewTokens: 5 })).toEqual(answers);
      held.dispose();
      again.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      images.dispose();
      vlm.dispose();
    }
  });

  it("align trains the projector only and refuses examples without answers", async () => {
    const vlm = tinyVlm(tok, 2);
    const images = colourImages(6, COLOURS);
    const lmBefore = vlm.lm.namedParameters().map(([, v]) => v.dataSync().slice(0, 4));
    const r = await trainStage(vlm, {
      stage: "align",
      examples: examples(6),
      images,
      dataset: "colours",
      steps: 2,
      batchSize: 3,
    });
    expect(r.trainedParts).toEqual(["projector"]);
    vlm.lm
      .namedParameters()
      .forEach(([, v], i) => expect(Array.from(v.dataSync().slice(0, 4))).toEqual(Array.from(lmBefore[i]!)));
    const noAnswers = examples(2).map((e) => ({ ...e, messages: e.messages.slice(0, 1) }));
    await expect(
      trainStage(vlm, { stage: "align", examples: noAnswers, images, dataset: "colours", steps: 1 }),
    ).rejects.toThrow(/no token is supervised/);
    images.dispose();
    vlm.dispose();
  });
});
