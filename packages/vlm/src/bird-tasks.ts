import { join } from "node:path";
import { BirdQA, CubDataset, type BirdQARecord, type ImageSource } from "@birdvlm/data";
import type { ChatMessage } from "@birdvlm/core";
import type { EvalItem } from "./evaluate.js";
import type { TypedAnswer } from "./report-summary.js";
import { fingerprintFiles } from "./provenance.js";
import type { VlmExample } from "./train-stage.js";

/** What the VLM stages and the evaluation need from a CUB-layout folder (CUB-200-2011, a subset, SynthBirds). */
export interface BirdTasks {
  dataset: CubDataset;
  /** Fingerprint of the folder's index files (recorded in provenance). */
  fingerprint: string;
  /** Readable species names, in class order. */
  speciesNames: string[];
  /** Caption examples of the train split (stage `align`). */
  captions: VlmExample[];
  /** Question-answer conversations of the train split (stage `instruct`). */
  conversations: VlmExample[];
  /** Held-out test images with their species and attribute questions (typed by attribute group). */
  testItems: EvalItem[];
  /** Type (`species` or the attribute group) and answer of every open training question: the majority baselines. */
  trainingAnswers: TypedAnswer[];
  /** Image id → file path, for every image of both splits. */
  paths: Map<string, string>;
  /** Image id → path with its bounding box (when the folder has `bounding_boxes.txt`). */
  sources: Map<string, ImageSource>;
  trainIds: string[];
  testIds: string[];
}

/** Options of `loadBirdTasks`. */
export interface BirdTaskOptions {
  seed?: number;
  /** Question-answer pairs per training conversation. Default 4. */
  questionsPerImage?: number;
  /** Keep only the first `classes` species. */
  classes?: number;
}

/** Opens a CUB-layout folder and builds captions, conversations (train split) and evaluation items (test split) with `BirdQA`. */
export async function loadBirdTasks(root: string, options: BirdTaskOptions = {}): Promise<BirdTasks> {
  let dataset = await CubDataset.open(root);
  if (options.classes) {
    const keep: number[] = [];
    for (let i = 0; i < dataset.size; i++) if (dataset.get(i).classIndex < options.classes) keep.push(i);
    dataset = dataset.subset(keep);
  }
  const qa = BirdQA.fromCub(dataset, { seed: options.seed ?? 0, questionsPerImage: options.questionsPerImage ?? 4 });
  const index = ["images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt"].map((f) =>
    join(dataset.dir, f),
  );
  const fingerprint = await fingerprintFiles(index);
  const speciesNames = [
    ...new Set(
      Array.from({ length: dataset.size }, (_, i) => dataset.get(i))
        .sort((a, b) => a.classIndex - b.classIndex)
        .map((im) => im.label),
    ),
  ];
  const paths = new Map<string, string>();
  const sources = new Map<string, ImageSource>();
  const trainIds: string[] = [],
    testIds: string[] = [];
  const testItems: EvalItem[] = [];
  for (let i = 0; i < dataset.size; i++) {
    const im = dataset.get(i);
    const id = String(im.imageId);
    paths.set(id, im.path);
    sources.set(id, im.bbox ? { path: im.path, bbox: im.bbox } : im.path);
    if (im.isTrain) {
      trainIds.push(id);
      continue;
    }
    testIds.push(id);
    const pairs = qa.evaluationPairs(i);
    testItems.push({
      imageId: id,
      species: im.label,
      attributes: pairs
        .filter((p) => p.fact.kind !== "species")
        .map((p) => ({ question: p.question, answer: p.fact.answer, type: p.fact.topic })),
    });
  }
  if (!trainIds.length) throw new Error(`${root}: no training images (train_test_split.txt marks none with 1)`);
  const conversations = qa.conversations("train");
  const trainingAnswers = conversations.flatMap((r) =>
    r.meta.pairs.flatMap((p) => (p.kind === "open" && p.fact ? [{ type: p.fact.topic, answer: p.answer }] : [])),
  );
  return {
    dataset,
    fingerprint,
    speciesNames,
    captions: qa.captions("train").map(toExample),
    conversations: conversations.map(toExample),
    testItems,
    trainingAnswers,
    paths,
    sources,
    trainIds,
    testIds,
  };
}

/** A LLaVA record (`human`/`gpt` turns) as a VLM example. */
export function toExample(record: BirdQARecord): VlmExample {
  const messages: ChatMessage[] = record.conversations.map((t) => ({
    role: t.from === "gpt" ? "assistant" : "user",
    content: t.value,
  }));
  return { imageId: String(record.meta.imageId), messages };
}
