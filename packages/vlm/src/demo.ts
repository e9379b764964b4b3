import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { currentBackend, renderCurves, tf, type MetricsRecord } from "@birdvlm/core";
import { generateSynthBirds } from "@birdvlm/data";
import { VisionTransformer, type ViTConfig } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM, buildWordLevelTokenizer } from "@birdvlm/phi3";
import { BirdVLM } from "./birdvlm.js";
import { loadBirdTasks, loadNABirdsTasks, type BirdTaskSet } from "./bird-tasks.js";
import { pickQuestions, writeOverlay } from "./demo-outputs.js";
import { evaluate, type EvalReport } from "./evaluate.js";
import { ImageTable } from "./image-table.js";
import { initProjectorFromHead } from "./projector-init.js";
import { recordTraining } from "./provenance.js";
import { trainStage, type BatchAugment } from "./train-stage.js";
import { SpeciesDistillation } from "./species-distillation.js";
import { randomCropFlip } from "./random-crop-flip.js";
import { loadRecipe, vitConfigOf, type Recipe, type StageRecipe } from "./recipe.js";
import { classifierAccuracy, encoderTrainingOf, needsImagePipeline, trainEncoderClassifier } from "./train-encoder.js";
import { trainVitOnCub } from "./train-vit-run.js";

/** Every knob of the demo, with defaults sized to finish in a few minutes on 2 CPU cores. */
export interface DemoOptions {
  /** Output folder (model, curves, attention overlay, report). Default `out/demo`. */
  out?: string;
  /** A CUB-layout folder to use instead of generating SynthBirds. */
  cub?: string;
  /**
   * A NABirds folder (holding `nabirds/` or that folder) to use instead: the encoder's head learns its visual
   * categories (555), the VLM answers with the species above them and learns plumage and group questions.
   */
  nabirds?: string;
  /** SynthBirds species (default 12) and images per species (default 60). */
  species?: number;
  imagesPerSpecies?: number;
  /** With `cub`: keep only the first N classes. */
  classes?: number;
  /**
   * The model's shapes and training knobs: a recipe, its name in `packages/vlm/recipes/` or a path to its file.
   * Default `"demo"`. The options below override it.
   */
  recipe?: Recipe | string;
  /**
   * The encoder's shape and training from another recipe (e.g. `cub-scratch`), the VLM's from `recipe`.
   * Default: `recipe`'s.
   */
  encoderRecipe?: Recipe | string;
  /** Image size the ViT sees. Default: the recipe's (64). */
  imageSize?: number;
  /** Crop images to their bounding boxes (when the folder has them). Default true. */
  cropToBox?: boolean;
  /**
   * With `cropToBox`: train on the whole pictures as well as on the box crops (each example in one of the two
   * views, picked at random each time), so the model answers about a picture without a box. Default true.
   */
  wholePictures?: boolean;
  seed?: number;
  vit?: Partial<ViTConfig>;
  /** ViT epochs over the box crops (default: the recipe's, 20); when mixing views, half as many over both (recipe: 13). */
  vitEpochs?: number;
  /** Phi-3 hidden size and layers (default: the recipe's, 128 and 2). */
  lmHidden?: number;
  lmLayers?: number;
  alignEpochs?: number;
  /** Default (the recipe's): 8 when training mixes box crops and whole pictures (two views to learn), else 6. */
  instructEpochs?: number;
  log?: (line: string) => void;
}

/** What the demo measured. */
export interface DemoResult {
  /** On the held-out images as the model was trained on them (box crops when the folder has boxes). */
  report: EvalReport;
  /** On the whole held-out pictures, without a box (when the folder has boxes; no likelihood ranking). */
  wholeReport?: EvalReport;
  /** Held-out top-1 of the encoder's own head, scored at the species level the VLM answers at. */
  encoderAccuracy: number;
  /** The ViT head's held-out top-1 on the whole pictures (when the folder has boxes). */
  wholeEncoderAccuracy?: number;
  seconds: number;
  out: string;
  qa: Array<{ question: string; answer: string; expected: string }>;
}

/**
 * The whole BirdVLM recipe on a fresh machine: SynthBirds (or a CUB folder) → ViT trained from scratch → a word-level
 * tokenizer and a small Phi-3 → align → instruct → evaluation on held-out images; leaves the model, curves, the report
 * and an attention overlay in `out`.
 */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const log = o.log ?? ((l: string) => console.log(l));
  const out = resolve(o.out ?? "out/demo");
  const seed = o.seed ?? 0;
  const recipe = typeof o.recipe === "object" ? o.recipe : await loadRecipe(o.recipe ?? "demo");
  if (!recipe.vlm) throw new Error(`demo: recipe ${recipe.path} has no "vlm" section (the language model's shape)`);
  const encRecipe = o.encoderRecipe
    ? typeof o.encoderRecipe === "object"
      ? o.encoderRecipe
      : await loadRecipe(o.encoderRecipe)
    : recipe;
  const { languageModel: lmShape, align: alignKnobs, instruct: instructKnobs } = recipe.vlm;
  const size = o.imageSize ?? encRecipe.training.imageSize;
  if (o.cub && o.nabirds) throw new Error("demo: give a CUB folder or a NABirds folder, not both");
  await mkdir(out, { recursive: true });
  log(
    `backend: ${currentBackend()?.name ?? "none"}; output: ${out}; recipe: ${recipe.name} (${recipe.path})${encRecipe === recipe ? "" : `, encoder recipe: ${encRecipe.name} (${encRecipe.path})`}`,
  );

  let root = o.cub ?? o.nabirds;
  if (!root) {
    root = join(out, "synthbirds");
    const species = o.species ?? 12,
      per = o.imagesPerSpecies ?? 60;
    log(`synth: drawing ${species} species × ${per} images at ${size} px into ${root}`);
    await generateSynthBirds(root, { species, imagesPerSpecies: per, imageSize: size, seed, overwrite: true });
  }
  if (o.nabirds && o.classes)
    throw new Error("demo: --classes keeps the first N CUB species; NABirds takes no --classes");
  const tasks: BirdTaskSet = o.nabirds
    ? await loadNABirdsTasks(root, { seed })
    : await loadBirdTasks(root, { seed, classes: o.classes });
  if (!tasks.testIds.length)
    throw new Error(
      `${root}: train_test_split.txt marks no image as test (0), and the demo evaluates on held-out test images: use a folder with a test split`,
    );
  log(
    `data: ${tasks.speciesNames.length} species${tasks.numClasses !== tasks.speciesNames.length ? ` (${tasks.numClasses} categories)` : ""}, ${tasks.trainIds.length} train / ${tasks.testIds.length} test images, ${tasks.conversations.length} conversations`,
  );

  const crop = (o.cropToBox ?? true) && tasks.hasBoundingBoxes;
  // A recipe with augmentation beyond flips (cub-scratch) trains the encoder as `train-vit` does: the pixel-cache
  // pipeline, validation held out of the train split, its best epoch kept.
  const pipeline = needsImagePipeline(encRecipe);
  if (pipeline && o.nabirds)
    throw new Error(
      `demo: recipe ${encRecipe.name} trains the encoder through train-vit's pixel-cache pipeline, which reads CUB-layout folders; for NABirds use an encoder recipe without augmentation (e.g. demo)`,
    );
  let encoderTrainIds = tasks.trainIds;
  let vit: VisionTransformer;
  if (pipeline) {
    log(`train-vit: recipe ${encRecipe.name} through the pixel-cache pipeline into ${join(out, "encoder")}`);
    const run = await trainVitOnCub({
      data: root,
      out: join(out, "encoder"),
      recipe: encRecipe,
      overrides: { imageSize: size, epochs: o.vitEpochs },
      classes: o.classes,
      seed,
      cropToBox: crop,
      log,
      progress: false,
    });
    vit = await VisionTransformer.load(run.modelDir);
    encoderTrainIds = run.trainIds.map(String);
  } else
    vit = new VisionTransformer(
      { ...vitConfigOf(encRecipe, tasks.numClasses, size), ...o.vit },
      { seed, linearInit: encRecipe.encoder.linearInit },
    );
  const allIds = [...tasks.trainIds, ...tasks.testIds];
  const images = await ImageTable.fromFiles(
    allIds,
    allIds.map((id) => tasks.sources.get(id)!),
    vit,
    { cropToBox: crop },
  );
  // The whole pictures, with the same ids: a second view to train on (mixed), and to evaluate without a box.
  const whole = crop
    ? await ImageTable.fromFiles(
        allIds,
        allIds.map((id) => tasks.sources.get(id)!),
        vit,
        { cropToBox: false },
      )
    : undefined;
  const mixed = !!whole && (o.wholePictures ?? true);
  log(
    `images: ${allIds.length} decoded at ${size} px${crop ? `, cropped to their bounding boxes${mixed ? " and whole (training mixes both views)" : ""}` : ""}`,
  );
  const classOf = (id: string) => tasks.classIndexOf.get(id)!;
  const records: MetricsRecord[] = [];
  let step = 0;
  const t0 = Date.now();
  const curve = (name: string) => (_: number, loss: number) =>
    records.push({ kind: "train", step: ++step, epoch: 0, time: (Date.now() - t0) / 1000, [name]: loss });

  const vitTraining = pipeline ? undefined : encoderTrainingOf(encRecipe);
  const vitEpochs = o.vitEpochs ?? vitTraining?.epochs ?? 0;
  let vitLosses: number[] = [];
  if (vitTraining && mixed) {
    // Both views of every training image in one table (ids of the whole pictures suffixed), about half the epochs
    // (the demo recipe's 13: the whole pictures need a few more passes than the crops; 10 left them at 86% held-out top-1).
    const both = ImageTable.fromTensor(
      [...allIds, ...allIds.map((id) => `${id}#whole`)],
      tf.concat([images.images, whole!.images], 0),
    );
    const ids = [...tasks.trainIds, ...tasks.trainIds.map((id) => `${id}#whole`)];
    vitLosses = await trainEncoderClassifier(vit, {
      images: both,
      ids,
      labels: [...tasks.trainIds, ...tasks.trainIds].map(classOf),
      ...vitTraining,
      epochs:
        o.vitEpochs === undefined
          ? (encRecipe.training.mixedViewEpochs ?? Math.ceil(vitEpochs / 2))
          : Math.ceil(o.vitEpochs / 2),
      seed,
      log,
    });
    both.dispose();
  } else if (vitTraining) {
    vitLosses = await trainEncoderClassifier(vit, {
      images,
      ids: tasks.trainIds,
      labels: tasks.trainIds.map(classOf),
      ...vitTraining,
      epochs: vitEpochs,
      seed,
      log,
    });
  }
  vitLosses.forEach((l, i) => curve("vit_loss")(i, l));
  const testLabels = tasks.testIds.map(classOf);
  const encoderAccuracy = await classifierAccuracy(vit, images, tasks.testIds, testLabels, 64, tasks.speciesOfClass);
  const wholeEncoderAccuracy = whole
    ? await classifierAccuracy(vit, whole, tasks.testIds, testLabels, 64, tasks.speciesOfClass)
    : undefined;
  log(
    `train-vit: held-out top-1 of the ViT's own head ${(encoderAccuracy * 100).toFixed(1)}%${whole ? ` (box crops), ${(wholeEncoderAccuracy! * 100).toFixed(1)}% (whole pictures)` : ""}`,
  );

  const texts = [...tasks.conversations, ...tasks.captions].flatMap((e) => e.messages.map((m) => m.content));
  const tokenizer = buildWordLevelTokenizer(texts, { extraSpecialTokens: ["<|image_pad|>"] });
  log(`tokenizer: ${tokenizer.vocabSize} words fitted to the training conversations`);
  const hidden = o.lmHidden ?? lmShape.hiddenSize;
  const lm = new Phi3ForCausalLM(
    {
      vocabSize: tokenizer.vocabSize,
      hiddenSize: hidden,
      intermediateSize: Math.round(hidden * lmShape.mlpRatio),
      numHiddenLayers: o.lmLayers ?? lmShape.layers,
      numAttentionHeads: lmShape.heads,
      maxPositionEmbeddings: lmShape.maxPositions,
      originalMaxPositionEmbeddings: lmShape.maxPositions,
      bosTokenId: 1,
      eosTokenId: 2,
      padTokenId: 2,
    },
    { seed },
  );
  const fromHead = recipe.vlm.projectorInit === "head";
  const connector = new MlpProjector({
    inputDim: vit.hiddenSize,
    outputDim: hidden,
    hiddenDim: fromHead ? Math.max(hidden, tasks.numClasses) : undefined,
    pooling: {
      mode: "avg",
      outputGrid: [recipe.vlm.imageTokenGrid, recipe.vlm.imageTokenGrid],
      withPooled: recipe.vlm.pooledToken,
    },
    seed,
  });
  if (fromHead) initProjectorFromHead(connector, vit.head!);
  const vlm = BirdVLM.create({ encoder: vit, connector, lm, tokenizer });
  // A model that learned the whole pictures too takes pictures as they are; one that learned box crops wants a box.
  vlm.cropToBox = crop && !mixed;
  recordTraining(vlm.provenance, ["encoder"], {
    stage: "train-vit",
    dataset: tasks.fingerprint,
    imageIds: encoderTrainIds,
  });
  log(
    `model: ViT ${vit.parameterCount().toLocaleString("en-US")} + projector ${connector.parameterCount().toLocaleString("en-US")} + Phi-3 ${lm.parameterCount().toLocaleString("en-US")} weights, ${vlm.imageTokens} image tokens`,
  );

  const views = mixed ? [whole!] : [];
  const align = await trainStage(vlm, {
    stage: "align",
    examples: tasks.captions,
    images,
    views,
    dataset: tasks.fingerprint,
    epochs: o.alignEpochs ?? (mixed ? (alignKnobs.mixedViewEpochs ?? alignKnobs.epochs) : alignKnobs.epochs),
    batchSize: alignKnobs.batchSize,
    lr: alignKnobs.lr,
    trainLanguageModel: alignKnobs.trainLanguageModel,
    augment: stageAugment(alignKnobs),
    seed,
    log,
    onStep: curve("align_loss"),
  });
  const answerSampler =
    recipe.vlm.speciesTargets === "encoder"
      ? new SpeciesDistillation({
          speciesNames: tasks.speciesNames,
          classifier: vit,
          speciesOfClass: tasks.speciesOfClass,
          ...recipe.vlm.distillation,
        })
      : undefined;
  if (answerSampler) log(`instruct: species answers drawn from the encoder's belief (distillation)`);
  const instruct = await trainStage(vlm, {
    stage: "instruct",
    answerSampler,
    augment: stageAugment(instructKnobs),
    examples: tasks.conversations,
    images,
    views,
    dataset: tasks.fingerprint,
    epochs:
      o.instructEpochs ?? (mixed ? (instructKnobs.mixedViewEpochs ?? instructKnobs.epochs) : instructKnobs.epochs),
    batchSize: instructKnobs.batchSize,
    lr: instructKnobs.lr,
    trainLanguageModel: instructKnobs.trainLanguageModel,
    seed: seed + 1,
    log,
    onStep: curve("instruct_loss"),
  });
  log(`stages: align ${align.seconds.toFixed(0)} s, instruct ${instruct.seconds.toFixed(0)} s`);

  const evalSet = {
    dataset: tasks.fingerprint,
    items: tasks.testItems,
    speciesNames: tasks.speciesNames,
    trainingAnswers: tasks.trainingAnswers,
  };
  const report = await evaluate(vlm, { ...evalSet, images }, { split: "test", outDir: join(out, "eval"), log });
  const wholeReport = whole
    ? await evaluate(vlm, { ...evalSet, images: whole }, { split: "test (whole pictures, no box)", rankSpecies: false })
    : undefined;
  await vlm.save(join(out, "model"));
  await renderCurves(records, join(out, "curves.png"), {
    series: ["train/vit_loss", "train/align_loss", "train/instruct_loss"],
    title: "BirdVLM demo",
  });
  await writeOverlay(
    vit,
    tasks.sources.get(tasks.testIds[0]!)!,
    crop,
    images,
    tasks.testIds[0]!,
    join(out, "attention.png"),
  );
  const qa = pickQuestions(report);
  const wholeSummary = wholeReport && {
    encoderAccuracy: wholeEncoderAccuracy,
    speciesAccuracy: wholeReport.speciesAccuracy,
    attributeAccuracy: wholeReport.attributeAccuracy,
  };
  await writeFile(
    join(out, "summary.json"),
    JSON.stringify(
      {
        encoderAccuracy,
        speciesAccuracy: report.speciesAccuracy,
        attributeAccuracy: report.attributeAccuracy,
        attributeBaseline: report.attributeBaseline,
        top1: report.top1,
        top5: report.top5,
        questionTypes: report.questionTypes,
        trainedOn: mixed ? "box crops and whole pictures" : crop ? "box crops" : "whole pictures",
        wholePictures: wholeSummary,
        seconds: (Date.now() - started) / 1000,
      },
      null,
      2,
    ) + "\n",
  );
  vlm.dispose();
  images.dispose();
  whole?.dispose();
  return {
    report,
    wholeReport,
    encoderAccuracy,
    wholeEncoderAccuracy,
    seconds: (Date.now() - started) / 1000,
    out,
    qa,
  };
}

/** A stage recipe's augmentation of in-memory images, or none. */
function stageAugment(stage: StageRecipe): BatchAugment | undefined {
  const { scale, flipProbability } = stage.augmentation;
  return scale || flipProbability > 0
    ? randomCropFlip(scale ? { scale, flipProbability } : { scale: [1, 1], ratio: [1, 1], flipProbability })
    : undefined;
}
