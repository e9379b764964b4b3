// Trains a ViT from scratch on a CUB-200-2011-layout folder, keeping CUB's official split: validation is held out
// of the train split (stratified, seeded) for model selection, and the selected model is scored once on the test
// split. Prints per-epoch train / validation accuracy and ends with `test top-1: NN.N% (top-5 ...)`; writes
// checkpoints, metrics.jsonl, curves.png and the selected model (timm layout) in <out>/model.
//
//   npx tsx examples/train-vit-cub.ts --cub /data/CUB_200_2011 [--recipe cub-scratch] [--classes N]
//       [--image-size 64] [--epochs 50] [--batch 32] [--lr 1e-3] [--val-fraction 0.1] [--out runs/vit-cub] [--seed 0]
//
// The model's shape, its training knobs and augmentation come from a recipe (packages/vlm/recipes/<name>.json or
// a .json path); the flags override it. `birdvlm train-vit` is the same run from the command line.
import "../scripts/tfjs-resolve-hook.js";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    cub: { type: "string" },
    recipe: { type: "string", default: "cub-scratch" },
    classes: { type: "string" },
    "image-size": { type: "string" },
    epochs: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    "val-fraction": { type: "string" },
    out: { type: "string", default: "runs/vit-cub" },
    seed: { type: "string", default: "0" },
    backend: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const usage =
  "usage: npx tsx examples/train-vit-cub.ts --cub <CUB root> [--recipe cub-scratch] [--classes N] [--image-size 64]\n" +
  "       [--epochs 50] [--batch 32] [--lr 1e-3] [--val-fraction 0.1] [--out runs/vit-cub] [--seed 0] [--backend <name>]";
if (args.help) {
  console.log(usage);
  process.exit(0);
}
if (!args.cub) {
  console.error(usage);
  process.exit(2);
}
const { initBackend } = await import("@birdvlm/core");
const { loadRecipe, testLine, trainVitOnCub } = await import("@birdvlm/vlm");
const num = (name: keyof typeof args) => (args[name] === undefined ? undefined : Number(args[name]));

const backend = await initBackend(args.backend as Parameters<typeof initBackend>[0]);
const recipe = await loadRecipe(args.recipe!);
console.log(`recipe ${recipe.name}: ${recipe.description}\nbackend ${backend.name}`);
const result = await trainVitOnCub({
  data: args.cub,
  out: args.out!,
  recipe,
  overrides: {
    imageSize: num("image-size"),
    epochs: num("epochs"),
    batchSize: num("batch"),
    lr: num("lr"),
    validationFraction: num("val-fraction"),
  },
  classes: num("classes"),
  seed: Number(args.seed),
  log: (line) => console.log(line),
});
console.log(`curves in ${args.out}/curves.png; see where the model looks with 'birdvlm attention'`);
console.log(result.test ? testLine(result.test) : "test top-1: - (the folder has no test split)");
