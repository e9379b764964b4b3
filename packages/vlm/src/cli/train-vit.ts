import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { VisionTransformer } from "@birdvlm/vit";
import { loadBirdTasks } from "../bird-tasks.js";
import { ImageTable } from "../image-table.js";
import { emptyProvenance, recordTraining } from "../provenance.js";
import { loadRecipe, vitConfigOf } from "../recipe.js";
import { classifierAccuracy, encoderTrainingOf, trainEncoderClassifier } from "../train-encoder.js";
import { defineCommand } from "./command.js";

/** `birdvlm train-vit`: a small ViT classifier trained from scratch on a CUB-layout folder's train split. */
export const trainVitCommand = defineCommand({
  name: "train-vit",
  summary: "train a small ViT classifier from scratch on a CUB-layout folder's train split",
  synopsis: "--data <root> --out <dir> [options]",
  description: `The ViT's shape and training knobs come from --recipe (a name in packages/vlm/recipes/ or a .json file;
default "demo": 64 wide, 3 blocks, mean pooling, patch 8); flags override the recipe's knobs.
Writes the ViT checkpoint (config.json + model.safetensors) and provenance.json into --out.`,
  flags: {
    data: { type: "string", value: "<root>", required: true, help: "a CUB-layout folder" },
    out: { type: "string", value: "<dir>", required: true, help: "where the ViT is written" },
    recipe: { type: "string", value: "<name|file>", default: "demo", help: "the model's shape and training knobs" },
    "image-size": { type: "integer", min: 8, help: "side of the images the ViT sees (default: the recipe's)" },
    epochs: { type: "number", min: 0, help: "passes over the train split (default: the recipe's)" },
    classes: { type: "integer", min: 1, help: "keep only the first N species" },
    seed: { type: "integer", default: 0, help: "random seed" },
    "crop-to-box": { type: "boolean", help: "crop images to their bounding boxes" },
  },
  async run(f, _positionals, { log }) {
    const recipe = await loadRecipe(f.recipe);
    const training = encoderTrainingOf(recipe);
    const tasks = await loadBirdTasks(f.data, { classes: f.classes });
    const size = f["image-size"] ?? recipe.training.imageSize;
    const vit = new VisionTransformer(vitConfigOf(recipe, tasks.speciesNames.length, size), { seed: f.seed });
    log(`train-vit: recipe ${recipe.name} (${recipe.path})`);
    const ids = [...tasks.trainIds, ...tasks.testIds];
    log(`train-vit: decoding ${ids.length} images at ${size} px`);
    const images = await ImageTable.fromFiles(
      ids,
      ids.map((id) => tasks.sources.get(id)!),
      vit,
      { cropToBox: f["crop-to-box"] },
    );
    const classOf = (id: string) => tasks.dataset.get(tasks.dataset.indexOf(Number(id))).classIndex;
    await trainEncoderClassifier(vit, {
      images,
      ids: tasks.trainIds,
      labels: tasks.trainIds.map(classOf),
      ...training,
      epochs: f.epochs ?? training.epochs,
      seed: f.seed,
      log,
    });
    if (tasks.testIds.length) {
      const top1 = await classifierAccuracy(vit, images, tasks.testIds, tasks.testIds.map(classOf));
      log(`train-vit: test top-1 ${(top1 * 100).toFixed(1)}%`);
    }
    await vit.save(f.out);
    const p = emptyProvenance();
    recordTraining(p, ["encoder"], { stage: "train-vit", dataset: tasks.fingerprint, imageIds: tasks.trainIds });
    await writeFile(join(f.out, "provenance.json"), JSON.stringify(p, null, 2) + "\n");
    log(
      `train-vit: saved to ${f.out}; next: 'birdvlm align --encoder ${f.out} --lm <phi3 dir> --data ${f.data} --out <dir>'`,
    );
    return 0;
  },
});
