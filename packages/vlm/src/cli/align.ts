import { join, resolve } from "node:path";
import type { TextTokenizer } from "@birdvlm/core";
import { VisionTransformer } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM, Phi3Tokenizer } from "@birdvlm/phi3";
import { BirdVLM } from "../birdvlm.js";
import { loadBirdTasks } from "../bird-tasks.js";
import { checksumWeights } from "../model-folder.js";
import { readProvenanceFile, type Provenance } from "../provenance.js";
import { trainStage } from "../train-stage.js";
import { defineCommand } from "./command.js";
import { decodeForModel } from "./decode.js";

/** `birdvlm align`: stage 1, a new projector learns from captions while the encoder and the LM stay frozen. */
export const alignCommand = defineCommand({
  name: "align",
  summary: "stage 1: train a new projector on captions (encoder and LM frozen)",
  synopsis: "--encoder <vit dir> --lm <phi3 dir> --data <root> --out <dir> [options]",
  description: `--tokenizer defaults to the --lm folder (Phi-3 checkpoints ship tokenizer.json and tokenizer_config.json).
--tokens N pools the patch grid to N×N image tokens. --crop-to-box crops dataset images to their bounding boxes
(remembered by the model: eval does the same).`,
  flags: {
    encoder: { type: "string", value: "<vit dir>", required: true, help: "a ViT checkpoint folder" },
    lm: { type: "string", value: "<phi3 dir>", required: true, help: "a Phi-3 checkpoint folder" },
    tokenizer: { type: "string", value: "<dir>", help: "tokenizer folder (default: the --lm folder)" },
    data: { type: "string", value: "<root>", required: true, help: "a CUB-layout folder" },
    out: { type: "string", value: "<dir>", required: true, help: "where the BirdVLM folder is written" },
    epochs: { type: "number", min: 0, default: 2, help: "passes over the captions" },
    tokens: { type: "integer", min: 1, default: 2, help: "image tokens per side (N×N)" },
    classes: { type: "integer", min: 1, help: "keep only the first N species" },
    seed: { type: "integer", default: 0, help: "random seed" },
    "crop-to-box": { type: "boolean", help: "crop dataset images to their bounding boxes" },
  },
  async run(f, _positionals, { log }) {
    const encoder = await VisionTransformer.load(f.encoder);
    const lm = await Phi3ForCausalLM.load(f.lm);
    const tokenizer: TextTokenizer = await Phi3Tokenizer.load(f.tokenizer ?? f.lm);
    const connector = new MlpProjector({
      inputDim: encoder.hiddenSize,
      outputDim: lm.hiddenSize,
      pooling: { mode: "avg", outputGrid: [f.tokens, f.tokens] },
      seed: f.seed,
    });
    const vlm = BirdVLM.create({ encoder, connector, lm, tokenizer });
    vlm.lmSource = { dir: resolve(f.lm), sha256: await checksumWeights(f.lm) };
    vlm.provenance = await readProvenanceBeside(f.encoder);
    vlm.cropToBox = f["crop-to-box"];
    const tasks = await loadBirdTasks(f.data, { classes: f.classes });
    const images = await decodeForModel(vlm, tasks.trainIds, tasks.sources, log);
    await trainStage(vlm, {
      stage: "align",
      examples: tasks.captions,
      images,
      dataset: tasks.fingerprint,
      epochs: f.epochs,
      log,
    });
    await vlm.save(f.out);
    log(`align: saved to ${f.out}; next: 'birdvlm instruct --model ${f.out} --data ${f.data} --out <dir>'`);
    return 0;
  },
});

/** The training records written beside an encoder (by `train-vit` or a saved BirdVLM): fails closed. */
function readProvenanceBeside(dir: string): Promise<Provenance> {
  return readProvenanceFile(join(dir, "provenance.json"));
}
