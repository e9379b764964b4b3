// Stage 2 (instruct): trains a BirdVLM's projector — and, with --train-lm, its language model — on bird
// question-answer conversations that BirdQA generates from a CUB-layout folder's train split, then evaluates on
// its test split (held-out images only: the evaluation refuses images any part trained on).
//
//   npx tsx examples/instruct-birdqa.ts --model runs/aligned --cub <root> --out runs/instructed [--epochs 4] [--train-lm]
import "../scripts/tfjs-resolve-hook.js";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    cub: { type: "string" },
    out: { type: "string" },
    epochs: { type: "string" },
    "train-lm": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
const usage =
  "usage: npx tsx examples/instruct-birdqa.ts --model <birdvlm dir> --cub <CUB root> --out <dir> [--epochs 4] [--train-lm]";
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!values.model || !values.cub || !values.out) {
  console.error(usage);
  process.exit(2);
}
const { initBackend } = await import("@birdvlm/core");
const { BirdVLM, ImageTable, evaluate, loadBirdTasks, trainStage } = await import("@birdvlm/vlm");
console.log(`backend: ${(await initBackend()).name}`);
const vlm = await BirdVLM.load(values.model);
const tasks = await loadBirdTasks(values.cub);
const ids = [...tasks.trainIds, ...tasks.testIds];
const images = await ImageTable.fromFiles(
  ids,
  ids.map((id) => tasks.sources.get(id)!),
  vlm.encoder,
  { cropToBox: vlm.cropToBox },
);
await trainStage(vlm, {
  stage: "instruct",
  examples: tasks.conversations,
  images,
  dataset: tasks.fingerprint,
  epochs: Number(values.epochs ?? 4),
  trainLanguageModel: !!values["train-lm"],
  checkpointDir: join(values.out, "checkpoints"),
  metricsFile: join(values.out, "metrics.jsonl"),
  curvesFile: join(values.out, "curves.png"),
  progress: true,
  log: console.log,
});
await vlm.save(join(values.out, "model"));
if (tasks.testItems.length) {
  const report = await evaluate(
    vlm,
    { dataset: tasks.fingerprint, items: tasks.testItems, images, speciesNames: tasks.speciesNames },
    { outDir: join(values.out, "eval"), log: console.log },
  );
  console.log(
    `species accuracy ${(report.speciesAccuracy * 100).toFixed(1)}%, top-5 ${((report.top5 ?? 0) * 100).toFixed(1)}%, attributes ${((report.attributeAccuracy ?? 0) * 100).toFixed(1)}%`,
  );
}
