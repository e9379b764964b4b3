import { runDemo } from "../demo.js";
import { formatEvalSummary } from "../report-summary.js";
import { defineCommand } from "./command.js";

const percent = (x: number | undefined) => `${((x ?? 0) * 100).toFixed(1)}%`;

/** `birdvlm demo`: the whole recipe on generated birds (or a CUB folder), see `runDemo`. */
export const demoCommand = defineCommand({
  name: "demo",
  summary: "the whole recipe on generated birds (or --cub / --nabirds <root>): train, evaluate, save",
  synopsis: "[--out <dir>] [--cub <root>] [options]",
  description: `Generates SynthBirds (no download), trains a small ViT, fits a word-level tokenizer and a small Phi-3, runs the
align and instruct stages, evaluates on held-out images and leaves model/, curves.png, attention.png and eval/
in the output folder (default ./out/demo). With --cub it uses a CUB-200-2011-layout folder instead
(train split to train, test split to evaluate; --classes N keeps the first N species); with --nabirds a NABirds
folder (the encoder learns its 555 categories, the VLM answers with their species). It ends with the encoder's
held-out top-1 beside the VLM's species accuracy, and each question type beside its majority-answer baseline.
When the folder has bounding boxes, training mixes box crops and whole pictures, so \`ask\` needs no --box;
--box-only trains on box crops alone. The species and attribute accuracies are on box crops; a line before them
gives the same on the whole pictures. The model's shapes and training knobs come from --recipe (default "demo",
packages/vlm/recipes/demo.json), the encoder's from --encoder-recipe when given; the flags below override them.
On real photos use --recipe real-birds (the encoder's pooled embedding as an image token, the projector started
as its classifier head; docs/training-on-cub-and-nabirds.md); --encoder-recipe cub-scratch trains the encoder
as train-vit does.`,
  flags: {
    out: { type: "string", value: "<dir>", help: "output folder (default out/demo)" },
    recipe: { type: "string", value: "<name|file>", help: "the model's shapes and training knobs (default demo)" },
    cub: { type: "string", value: "<root>", help: "a CUB-layout folder instead of SynthBirds" },
    nabirds: { type: "string", value: "<root>", help: "a NABirds folder instead of SynthBirds" },
    "encoder-recipe": {
      type: "string",
      value: "<name|file>",
      help: "the encoder's shape and training from this recipe (default: --recipe's)",
    },
    species: { type: "integer", min: 1, help: "SynthBirds species (default 12)" },
    "images-per-species": { type: "integer", min: 1, help: "SynthBirds images per species (default 60)" },
    classes: { type: "integer", min: 1, help: "with --cub: keep only the first N species" },
    seed: { type: "integer", help: "random seed (default 0)" },
    "image-size": { type: "integer", min: 8, help: "side of the images the ViT sees (recipe: 64)" },
    "vit-epochs": { type: "number", min: 0, help: "ViT epochs (recipe: 20; half as many when mixing views)" },
    "instruct-epochs": { type: "number", min: 0, help: "instruct epochs (recipe: 8 when mixing views, else 6)" },
    "box-only": { type: "boolean", help: "train on box crops alone" },
  },
  async run(f, _positionals, { log }) {
    const r = await runDemo({
      out: f.out,
      recipe: f.recipe,
      cub: f.cub,
      nabirds: f.nabirds,
      encoderRecipe: f["encoder-recipe"],
      species: f.species,
      imagesPerSpecies: f["images-per-species"],
      classes: f.classes,
      seed: f.seed,
      imageSize: f["image-size"],
      vitEpochs: f["vit-epochs"],
      instructEpochs: f["instruct-epochs"],
      wholePictures: !f["box-only"],
      log,
    });
    log("");
    log("a few held-out questions:");
    for (const q of r.qa) log(`  Q: ${q.question}\n  A: ${q.answer}   (expected: ${q.expected})`);
    log("");
    log(`model, curves.png, attention.png and eval/ are in ${r.out}`);
    if (r.report.top1 !== undefined)
      log(`species top-1 / top-5 by likelihood: ${percent(r.report.top1)} / ${percent(r.report.top5)}`);
    if (r.wholeReport)
      log(
        `whole pictures, no box: species accuracy ${percent(r.wholeReport.speciesAccuracy)}, attribute accuracy ${percent(r.wholeReport.attributeAccuracy)}`,
      );
    log("");
    for (const line of formatEvalSummary(r.report)) log(line);
    log("");
    log(
      `species, held-out top-1: encoder's own head ${percent(r.encoderAccuracy)} | VLM free answers ${percent(r.report.speciesAccuracy)}` +
        (r.report.top1 !== undefined ? ` | VLM by likelihood ${percent(r.report.top1)}` : ""),
    );
    log(`species accuracy: ${percent(r.report.speciesAccuracy)}`);
    log(
      `attribute accuracy: ${percent(r.report.attributeAccuracy)}` +
        (r.report.attributeBaseline !== undefined ? ` (majority baseline ${percent(r.report.attributeBaseline)})` : ""),
    );
    log(`wall time: ${Math.round(r.seconds)} s`);
    return 0;
  },
});
