import { BirdVLM } from "../birdvlm.js";
import { loadBirdTasks } from "../bird-tasks.js";
import { trainStage } from "../train-stage.js";
import { defineCommand } from "./command.js";
import { decodeForModel } from "./decode.js";

/** `birdvlm instruct`: stage 2, training on bird question-answer conversations. */
export const instructCommand = defineCommand({
  name: "instruct",
  summary: "stage 2: train on bird question-answer conversations",
  synopsis: "--model <birdvlm dir> --data <root> --out <dir> [--train-lm | --lora <rank>] [options]",
  description: `--train-lm trains every weight of the language model; --lora <rank> trains LoRA adapters on its attention
projections instead (the LM's own weights stay unchanged and are not copied into --out when it was referenced).`,
  flags: {
    model: { type: "string", value: "<birdvlm dir>", required: true, help: "the model to train further" },
    data: { type: "string", value: "<root>", required: true, help: "a CUB-layout folder" },
    out: { type: "string", value: "<dir>", required: true, help: "where the trained model is written" },
    epochs: { type: "number", min: 0, default: 4, help: "passes over the conversations" },
    "train-lm": { type: "boolean", help: "train every weight of the language model" },
    lora: { type: "integer", min: 1, value: "<rank>", help: "train LoRA adapters of this rank on the LM" },
    lr: { type: "number", min: 0, help: "peak learning rate (default 3e-4)" },
    classes: { type: "integer", min: 1, help: "keep only the first N species" },
    seed: { type: "integer", help: "random seed" },
  },
  async run(f, _positionals, { log }) {
    const vlm = await BirdVLM.load(f.model);
    const tasks = await loadBirdTasks(f.data, { classes: f.classes });
    const images = await decodeForModel(vlm, tasks.trainIds, tasks.sources, log);
    await trainStage(vlm, {
      stage: "instruct",
      examples: tasks.conversations,
      images,
      dataset: tasks.fingerprint,
      epochs: f.epochs,
      lr: f.lr,
      trainLanguageModel: f["train-lm"],
      lora: f.lora === undefined ? undefined : { rank: f.lora },
      seed: f.seed,
      log,
    });
    await vlm.save(f.out);
    log(`instruct: saved to ${f.out}; next: 'birdvlm eval --model ${f.out} --data ${f.data}'`);
    return 0;
  },
});
