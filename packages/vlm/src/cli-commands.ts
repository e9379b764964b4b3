import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { initBackend, tf, type BackendName, type TextTokenizer } from "@birdvlm/core";
import { generateSynthBirds, type ImageSource } from "@birdvlm/data";
import { VisionTransformer, attentionRollout, renderAttentionOverlay } from "@birdvlm/vit";
import { MlpProjector } from "@birdvlm/projector";
import { Phi3ForCausalLM, Phi3Tokenizer } from "@birdvlm/phi3";
import { BirdVLM } from "./birdvlm.js";
import { loadBirdTasks } from "./bird-tasks.js";
import { runDemo } from "./demo.js";
import { evaluate } from "./evaluate.js";
import { ImageTable } from "./image-table.js";
import { parseBoundingBox, toImageBatch } from "./image-input.js";
import { checksumWeights } from "./model-folder.js";
import { emptyProvenance, recordTraining, type Provenance } from "./provenance.js";
import { trainStage } from "./train-stage.js";
import { classifierAccuracy, trainEncoderClassifier } from "./train-encoder.js";

type Values = Record<string, string | boolean | undefined>;
type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** One `birdvlm` command: its one-line summary, usage text and options. */
export interface CommandSpec {
  summary: string;
  usage: string;
  options: OptionSpec;
}

const common = `  --backend <name>   auto (default), native, wasm, cpu, webgpu or tensorflow
  -h, --help         this help`;

/** Every command of the `birdvlm` CLI. */
export const COMMANDS: Record<string, CommandSpec> = {
  demo: {
    summary: "the whole recipe on generated birds (or --cub <root>): train, evaluate, save",
    usage: `birdvlm demo [--out <dir>] [--cub <root>] [--species N] [--images-per-species N] [--seed N] [--box-only]

Generates SynthBirds (no download), trains a small ViT, fits a word-level tokenizer and a small Phi-3, runs the
align and instruct stages, evaluates on held-out images and leaves model/, curves.png, attention.png and eval/
in the output folder (default ./out/demo). With --cub it uses a CUB-200-2011-layout folder instead
(train split to train, test split to evaluate; --classes N keeps the first N species).
When the folder has bounding boxes, training mixes box crops and whole pictures, so \`ask\` needs no --box;
--box-only trains on box crops alone. The species and attribute accuracies are on box crops; a line before them
gives the same on the whole pictures.
${common}`,
    options: {
      out: { type: "string" },
      cub: { type: "string" },
      species: { type: "string" },
      "images-per-species": { type: "string" },
      classes: { type: "string" },
      seed: { type: "string" },
      "image-size": { type: "string" },
      "vit-epochs": { type: "string" },
      "instruct-epochs": { type: "string" },
      "box-only": { type: "boolean" },
      backend: { type: "string" },
    },
  },
  synth: {
    summary: "draw a SynthBirds dataset in the CUB-200-2011 layout",
    usage: `birdvlm synth --out <dir> [--species 12] [--images-per-species 60] [--image-size 64] [--seed 0]
${common}`,
    options: {
      out: { type: "string" },
      species: { type: "string" },
      "images-per-species": { type: "string" },
      "image-size": { type: "string" },
      seed: { type: "string" },
      backend: { type: "string" },
    },
  },
  "train-vit": {
    summary: "train a small ViT classifier from scratch on a CUB-layout folder's train split",
    usage: `birdvlm train-vit --data <root> --out <dir> [--image-size 64] [--epochs 20] [--classes N] [--seed 0] [--crop-to-box]

Writes the ViT checkpoint (config.json + model.safetensors) and provenance.json into --out.
${common}`,
    options: {
      data: { type: "string" },
      out: { type: "string" },
      "image-size": { type: "string" },
      epochs: { type: "string" },
      classes: { type: "string" },
      seed: { type: "string" },
      "crop-to-box": { type: "boolean" },
      backend: { type: "string" },
    },
  },
  align: {
    summary: "stage 1: train a new projector on captions (encoder and LM frozen)",
    usage: `birdvlm align --encoder <vit dir> --lm <phi3 dir> [--tokenizer <dir>] --data <root> --out <dir> [--epochs 2] [--tokens 2]

--tokenizer defaults to the --lm folder (Phi-3 checkpoints ship tokenizer.json and tokenizer_config.json).
--tokens N pools the patch grid to N×N image tokens. --crop-to-box crops dataset images to their bounding boxes
(remembered by the model: eval does the same).
${common}`,
    options: {
      encoder: { type: "string" },
      lm: { type: "string" },
      tokenizer: { type: "string" },
      data: { type: "string" },
      out: { type: "string" },
      epochs: { type: "string" },
      tokens: { type: "string" },
      classes: { type: "string" },
      seed: { type: "string" },
      "crop-to-box": { type: "boolean" },
      backend: { type: "string" },
    },
  },
  instruct: {
    summary: "stage 2: train on bird question-answer conversations",
    usage: `birdvlm instruct --model <birdvlm dir> --data <root> --out <dir> [--epochs 4] [--train-lm | --lora <rank>] [--lr 3e-4]

--train-lm trains every weight of the language model; --lora <rank> trains LoRA adapters on its attention
projections instead (the LM's own weights stay unchanged and are not copied into --out when it was referenced).
${common}`,
    options: {
      model: { type: "string" },
      data: { type: "string" },
      out: { type: "string" },
      epochs: { type: "string" },
      "train-lm": { type: "boolean" },
      lora: { type: "string" },
      lr: { type: "string" },
      classes: { type: "string" },
      seed: { type: "string" },
      backend: { type: "string" },
    },
  },
  ask: {
    summary: "answer a question about an image",
    usage: `birdvlm ask --model <dir> <image> "<question>" [--box x,y,width,height] [--max-new-tokens 64] [--bf16]
--box crops the image to the bird first, as models trained on box crops alone (demo --box-only) expect.
--bf16 keeps the language model's linear weights as bfloat16 (half the memory and bytes per token; exact for BF16 checkpoints).
${common}`,
    options: {
      model: { type: "string" },
      box: { type: "string" },
      "max-new-tokens": { type: "string" },
      bf16: { type: "boolean" },
      backend: { type: "string" },
    },
  },
  eval: {
    summary: "score a model on a split (species, top-1/top-5, attributes); refuses training images",
    usage: `birdvlm eval --model <dir> --data <root> [--split test] [--allow-overlap] [--out <dir>] [--classes N] [--bf16]
--bf16 keeps the language model's linear weights as bfloat16 (as ask --bf16).
${common}`,
    options: {
      model: { type: "string" },
      data: { type: "string" },
      split: { type: "string" },
      "allow-overlap": { type: "boolean" },
      out: { type: "string" },
      classes: { type: "string" },
      bf16: { type: "boolean" },
      backend: { type: "string" },
    },
  },
  inspect: {
    summary: "print a model's parts, sizes and provenance",
    usage: `birdvlm inspect --model <dir>
${common}`,
    options: { model: { type: "string" }, backend: { type: "string" } },
  },
  attention: {
    summary: "write the encoder's attention overlay of an image as a PNG",
    usage: `birdvlm attention --model <dir> <image> --out <png>
${common}`,
    options: { model: { type: "string" }, out: { type: "string" }, backend: { type: "string" } },
  },
};

function need(v: Values, name: string, command: string): string {
  const x = v[name];
  if (typeof x !== "string" || !x)
    throw new Error(`${command}: --${name} is required (see 'birdvlm ${command} --help')`);
  return x;
}

function num(v: Values, name: string, fallback?: number): number | undefined {
  const x = v[name];
  if (x === undefined) return fallback;
  const n = Number(x);
  if (typeof x !== "string" || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${String(x)}'`);
  return n;
}

const log = (line: string) => console.log(line);

/** Runs one parsed command; returns the exit code. */
export async function runCommand(name: string, v: Values, positionals: string[]): Promise<number> {
  const backend = await initBackend((v.backend as BackendName | undefined) ?? undefined);
  if (name !== "ask" && name !== "inspect") log(`backend: ${backend.name}`);
  switch (name) {
    case "demo": {
      const r = await runDemo({
        out: v.out as string | undefined,
        cub: v.cub as string | undefined,
        species: num(v, "species"),
        imagesPerSpecies: num(v, "images-per-species"),
        classes: num(v, "classes"),
        seed: num(v, "seed"),
        imageSize: num(v, "image-size"),
        vitEpochs: num(v, "vit-epochs"),
        instructEpochs: num(v, "instruct-epochs"),
        wholePictures: !v["box-only"],
        log,
      });
      log("");
      log("a few held-out questions:");
      for (const q of r.qa) log(`  Q: ${q.question}\n  A: ${q.answer}   (expected: ${q.expected})`);
      log("");
      log(`model, curves.png, attention.png and eval/ are in ${r.out}`);
      if (r.report.top1 !== undefined)
        log(
          `species top-1 / top-5 by likelihood: ${(r.report.top1 * 100).toFixed(1)}% / ${(r.report.top5! * 100).toFixed(1)}%`,
        );
      if (r.wholeReport)
        log(
          `whole pictures, no box: species accuracy ${(r.wholeReport.speciesAccuracy * 100).toFixed(1)}%, attribute accuracy ${((r.wholeReport.attributeAccuracy ?? 0) * 100).toFixed(1)}%`,
        );
      log(`species accuracy: ${(r.report.speciesAccuracy * 100).toFixed(1)}%`);
      log(`attribute accuracy: ${((r.report.attributeAccuracy ?? 0) * 100).toFixed(1)}%`);
      log(`wall time: ${Math.round(r.seconds)} s`);
      return 0;
    }
    case "synth": {
      const out = need(v, "out", name);
      const species = num(v, "species", 12)!,
        per = num(v, "images-per-species", 60)!;
      log(`synth: drawing ${species} species × ${per} images into ${out}`);
      await generateSynthBirds(out, {
        species,
        imagesPerSpecies: per,
        imageSize: num(v, "image-size", 64)!,
        seed: num(v, "seed", 0)!,
      });
      log(`synth: done; read it with 'birdvlm train-vit --data ${out} --out vit'`);
      return 0;
    }
    case "train-vit": {
      const data = need(v, "data", name),
        out = need(v, "out", name);
      const tasks = await loadBirdTasks(data, { classes: num(v, "classes") });
      const size = num(v, "image-size", 64)!;
      // the demo's encoder: 64 wide, 3 blocks, mean pooling (99% held-out top-1 on SynthBirds crops at 64 px)
      const vit = new VisionTransformer(
        {
          imageSize: size,
          patchSize: size >= 128 ? 16 : 8,
          hiddenSize: 64,
          depth: 3,
          numHeads: 4,
          mlpSize: 128,
          pooling: "mean",
          numClasses: tasks.speciesNames.length,
        },
        { seed: num(v, "seed", 0) },
      );
      const ids = [...tasks.trainIds, ...tasks.testIds];
      log(`train-vit: decoding ${ids.length} images at ${size} px`);
      const images = await ImageTable.fromFiles(
        ids,
        ids.map((id) => tasks.sources.get(id)!),
        vit,
        { cropToBox: !!v["crop-to-box"] },
      );
      const classOf = (id: string) => tasks.dataset.get(tasks.dataset.indexOf(Number(id))).classIndex;
      await trainEncoderClassifier(vit, {
        images,
        ids: tasks.trainIds,
        labels: tasks.trainIds.map(classOf),
        epochs: num(v, "epochs", 20),
        batchSize: 64,
        lr: 3e-3,
        seed: num(v, "seed", 0),
        log,
      });
      if (tasks.testIds.length)
        log(
          `train-vit: test top-1 ${((await classifierAccuracy(vit, images, tasks.testIds, tasks.testIds.map(classOf))) * 100).toFixed(1)}%`,
        );
      await vit.save(out);
      const p = emptyProvenance();
      recordTraining(p, ["encoder"], { stage: "train-vit", dataset: tasks.fingerprint, imageIds: tasks.trainIds });
      await writeFile(join(out, "provenance.json"), JSON.stringify(p, null, 2) + "\n");
      log(
        `train-vit: saved to ${out}; next: 'birdvlm align --encoder ${out} --lm <phi3 dir> --data ${data} --out <dir>'`,
      );
      return 0;
    }
    case "align": {
      const enc = need(v, "encoder", name),
        lmDir = need(v, "lm", name),
        data = need(v, "data", name),
        out = need(v, "out", name);
      const encoder = await VisionTransformer.load(enc);
      const lm = await Phi3ForCausalLM.load(lmDir);
      const tokenizer: TextTokenizer = await Phi3Tokenizer.load((v.tokenizer as string | undefined) ?? lmDir);
      const g = num(v, "tokens", 2)!;
      const connector = new MlpProjector({
        inputDim: encoder.hiddenSize,
        outputDim: lm.hiddenSize,
        pooling: { mode: "avg", outputGrid: [g, g] },
        seed: num(v, "seed", 0),
      });
      const vlm = BirdVLM.create({ encoder, connector, lm, tokenizer });
      vlm.lmSource = { dir: resolve(lmDir), sha256: await checksumWeights(lmDir) };
      vlm.provenance = await readProvenanceBeside(enc);
      vlm.cropToBox = !!v["crop-to-box"];
      const tasks = await loadBirdTasks(data, { classes: num(v, "classes") });
      const images = await tableFor(vlm, tasks.trainIds, tasks.sources);
      await trainStage(vlm, {
        stage: "align",
        examples: tasks.captions,
        images,
        dataset: tasks.fingerprint,
        epochs: num(v, "epochs", 2),
        log,
      });
      await vlm.save(out);
      log(`align: saved to ${out}; next: 'birdvlm instruct --model ${out} --data ${data} --out <dir>'`);
      return 0;
    }
    case "instruct": {
      const model = need(v, "model", name),
        data = need(v, "data", name),
        out = need(v, "out", name);
      const vlm = await BirdVLM.load(model);
      const tasks = await loadBirdTasks(data, { classes: num(v, "classes") });
      const images = await tableFor(vlm, tasks.trainIds, tasks.sources);
      await trainStage(vlm, {
        stage: "instruct",
        examples: tasks.conversations,
        images,
        dataset: tasks.fingerprint,
        epochs: num(v, "epochs", 4),
        lr: num(v, "lr"),
        trainLanguageModel: !!v["train-lm"],
        lora: v.lora === undefined ? undefined : { rank: num(v, "lora")! },
        log,
      });
      await vlm.save(out);
      log(`instruct: saved to ${out}; next: 'birdvlm eval --model ${out} --data ${data}'`);
      return 0;
    }
    case "ask": {
      const model = need(v, "model", name);
      const [image, question] = positionals;
      if (!image || !question)
        throw new Error(
          `ask: give an image and a question, e.g. birdvlm ask --model ${model} bird.jpg "What species is this bird?"`,
        );
      const box = v.box === undefined ? undefined : parseBoundingBox(v.box as string);
      const vlm = await BirdVLM.load(model, { lmWeightDtype: v.bf16 ? "bfloat16" : "float32" });
      if (vlm.cropToBox && !box)
        log(`ask: ${model} learned from birds cropped to their boxes; --box x,y,width,height gives it the same view`);
      const batch = await toImageBatch([box ? { path: image, bbox: box } : image], vlm.encoder, { cropToBox: !!box });
      try {
        await vlm.ask(batch, question, {
          maxNewTokens: num(v, "max-new-tokens", 64),
          onToken: (t) => process.stdout.write(t),
        });
      } finally {
        batch.dispose();
      }
      process.stdout.write("\n");
      return 0;
    }
    case "eval": {
      const model = need(v, "model", name),
        data = need(v, "data", name);
      const vlm = await BirdVLM.load(model, { lmWeightDtype: v.bf16 ? "bfloat16" : "float32" });
      const tasks = await loadBirdTasks(data, { classes: num(v, "classes") });
      if (!tasks.testItems.length)
        throw new Error(`eval: ${data} has no test images (train_test_split.txt marks none with 0)`);
      const images = await tableFor(vlm, tasks.testIds, tasks.sources);
      const r = await evaluate(
        vlm,
        { dataset: tasks.fingerprint, items: tasks.testItems, images, speciesNames: tasks.speciesNames },
        {
          split: (v.split as string | undefined) ?? "test",
          allowOverlap: !!v["allow-overlap"],
          outDir: v.out as string | undefined,
          log,
        },
      );
      if (r.notice) log(r.notice);
      log(`species accuracy: ${(r.speciesAccuracy * 100).toFixed(1)}%`);
      if (r.top1 !== undefined)
        log(`species top-1 / top-5: ${(r.top1 * 100).toFixed(1)}% / ${(r.top5! * 100).toFixed(1)}%`);
      log(
        `attribute accuracy: ${r.attributeAccuracy === undefined ? "n/a (no attribute questions)" : `${(r.attributeAccuracy * 100).toFixed(1)}%`}`,
      );
      return 0;
    }
    case "inspect": {
      const model = need(v, "model", name);
      const config = JSON.parse(await readFile(join(model, "config.json"), "utf8"));
      const vlm = await BirdVLM.load(model);
      log(`BirdVLM at ${resolve(model)} (backend ${backend.name})`);
      log(
        `  encoder:   ${vlm.encoder.parameterCount().toLocaleString("en-US")} weights, ${vlm.encoder.imageSize} px, width ${vlm.encoder.hiddenSize}`,
      );
      log(
        `  projector: ${vlm.connector.parameterCount().toLocaleString("en-US")} weights, ${vlm.connector.inputDim} → ${vlm.connector.outputDim}, ${vlm.imageTokens} image tokens`,
      );
      log(
        `  lm:        ${vlm.lm.parameterCount().toLocaleString("en-US")} weights, hidden ${vlm.lm.hiddenSize}, vocabulary ${vlm.lm.vocabSize}${"reference" in config.lm ? ` (reference to ${config.lm.reference}, sha256 ${config.lm.sha256.slice(0, 12)}…)` : ""}`,
      );
      log(`  tokenizer: ${vlm.tokenizer.vocabSize} tokens, image marker ${vlm.marker.token} (id ${vlm.marker.id})`);
      log("  provenance:");
      for (const [part, records] of Object.entries(vlm.provenance.parts)) {
        for (const r of records ?? [])
          log(`    ${part.padEnd(9)} ${r.stage.padEnd(9)} ${r.imageIds.length} images of ${r.dataset} (${r.date})`);
      }
      if (!Object.keys(vlm.provenance.parts).length) log("    (no training recorded)");
      return 0;
    }
    case "attention": {
      const model = need(v, "model", name),
        out = need(v, "out", name);
      const [image] = positionals;
      if (!image) throw new Error("attention: give an image path");
      const vlm = await BirdVLM.load(model);
      if (!(vlm.encoder instanceof VisionTransformer))
        throw new Error("attention: the encoder is not a VisionTransformer");
      const vit = vlm.encoder;
      const batch = await vlm.loadImages([image]);
      const heat = tf.tidy(() => tf.squeeze(attentionRollout(vit, batch), [0]) as tf.Tensor2D);
      await mkdir(resolve(out, ".."), { recursive: true });
      await writeFile(out, await renderAttentionOverlay(image, heat));
      log(`attention: wrote ${out}`);
      return 0;
    }
    default:
      throw new Error(`unknown command '${name}'`);
  }
}

async function tableFor(vlm: BirdVLM, ids: string[], sources: Map<string, ImageSource>): Promise<ImageTable> {
  log(`decoding ${ids.length} images at ${vlm.encoder.imageSize} px${vlm.cropToBox ? ", cropped to their boxes" : ""}`);
  return ImageTable.fromFiles(
    ids,
    ids.map((id) => sources.get(id)!),
    vlm.encoder,
    { cropToBox: vlm.cropToBox },
  );
}

async function readProvenanceBeside(dir: string): Promise<Provenance> {
  try {
    return JSON.parse(await readFile(join(dir, "provenance.json"), "utf8")) as Provenance;
  } catch {
    return emptyProvenance();
  }
}
