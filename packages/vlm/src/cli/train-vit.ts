import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadBirdTasks } from "../bird-tasks.js";
import { emptyProvenance, recordTraining } from "../provenance.js";
import { loadRecipe } from "../recipe.js";
import { testLine, trainVitOnCub } from "../train-vit-run.js";
import { defineCommand } from "./command.js";

/** `birdvlm train-vit`: a ViT classifier trained from scratch on a CUB-layout folder's train split. */
export const trainVitCommand = defineCommand({
  name: "train-vit",
  summary: "train a ViT classifier from scratch on a CUB-layout folder (official split kept)",
  synopsis: "--data <root> --out <dir> [options]",
  description: `The ViT's shape and training knobs come from --recipe (a name in packages/vlm/recipes/ or a .json file;
default "demo"; "cub-scratch" is the from-scratch recipe for CUB photos); flags override the recipe's knobs.
Trains on the train split, with a validation part held out of it (stratified) for model selection, and scores
the selected model once on the test split; the last line is "test top-1: NN.N% (top-5 NN.N%, N images)".
Writes metrics.jsonl, curves.png (loss and validation accuracy), checkpoints/ and the selected model in
<out>/model (config.json + model.safetensors + provenance.json); decoded pixels are cached in <out>/pixel-cache.`,
  flags: {
    data: { type: "string", value: "<root>", required: true, help: "a CUB-layout folder" },
    out: { type: "string", value: "<dir>", required: true, help: "the run folder" },
    recipe: { type: "string", value: "<name|file>", default: "demo", help: "the model's shape and training knobs" },
    "image-size": { type: "integer", min: 8, help: "side of the images the ViT sees (default: the recipe's)" },
    epochs: { type: "number", min: 1, help: "passes over the train split (default: the recipe's)" },
    batch: { type: "integer", min: 1, help: "batch size (default: the recipe's)" },
    lr: { type: "number", min: 0, help: "peak learning rate (default: the recipe's)" },
    mixup: { type: "number", min: 0, help: "mixup Beta alpha, 0 for none (default: the recipe's)" },
    cutmix: { type: "number", min: 0, help: "cutmix Beta alpha, 0 for none (default: the recipe's)" },
    erasing: { type: "number", min: 0, help: "random erasing probability (default: the recipe's)" },
    ema: { type: "number", min: 0, help: "decay of the weights' moving average, e.g. 0.998 (default: the recipe's)" },
    "val-fraction": { type: "number", min: 0.01, help: "fraction of the train split held out (default: the recipe's)" },
    classes: { type: "integer", min: 1, help: "keep only the first N species" },
    seed: { type: "integer", default: 0, help: "random seed" },
    "crop-to-box": { type: "boolean", help: "crop images to their bounding boxes" },
    "max-steps": { type: "integer", min: 1, help: "stop after this many steps (a quick check)" },
  },
  async run(f, _positionals, { log }) {
    const recipe = await loadRecipe(f.recipe);
    log(`train-vit: recipe ${recipe.name} (${recipe.path})`);
    const r = await trainVitOnCub({
      data: f.data,
      out: f.out,
      recipe,
      overrides: {
        imageSize: f["image-size"],
        epochs: f.epochs,
        batchSize: f.batch,
        lr: f.lr,
        mixupAlpha: f.mixup,
        cutmixAlpha: f.cutmix,
        randomErasing: f.erasing,
        emaDecay: f.ema,
        validationFraction: f["val-fraction"],
      },
      classes: f.classes,
      seed: f.seed,
      cropToBox: f["crop-to-box"],
      maxSteps: f["max-steps"],
      log,
      progress: process.stderr,
    });
    const tasks = await loadBirdTasks(f.data, { classes: f.classes });
    const p = emptyProvenance();
    recordTraining(p, ["encoder"], {
      stage: "train-vit",
      dataset: tasks.fingerprint,
      imageIds: [...r.trainIds, ...r.validationIds].map(String),
    });
    await writeFile(join(r.modelDir, "provenance.json"), JSON.stringify(p, null, 2) + "\n");
    log(
      `train-vit: next: 'birdvlm align --encoder ${r.modelDir} --lm <phi3 dir> --data ${f.data} --out <dir>' (curves in ${join(f.out, "curves.png")})`,
    );
    log(r.test ? testLine(r.test) : "test top-1: - (the folder has no test split)");
    return 0;
  },
});
