import { join } from "node:path";
import {
  BirdQA,
  CubDataset,
  NABirdsDataset,
  type BirdQARecord,
  type BoundingBox,
  type ImageSource,
} from "@birdvlm/data";
import type { ChatMessage } from "@birdvlm/core";
import type { EvalItem } from "./evaluate.js";
import type { TypedAnswer } from "./report-summary.js";
import { fingerprintFiles } from "./provenance.js";
import type { VlmExample } from "./train-stage.js";

/** What the VLM stages and the evaluation need from a bird dataset, whatever its layout (CUB-200-2011 or NABirds). */
export interface BirdTaskSet {
  /** Fingerprint of the folder's index files (recorded in provenance). */
  fingerprint: string;
  /** The species names the VLM answers with (CUB: one per class; NABirds: the species above the 555 categories). */
  speciesNames: string[];
  /** Classes of the encoder's classifier head (CUB: the species; NABirds: the visual categories, e.g. `Common Eider (Adult male)`). */
  numClasses: number;
  /** Image id → class index of the encoder's head (0-based, contiguous). */
  classIndexOf: Map<string, number>;
  /** Class index of the head → index in `speciesNames` (identity for CUB): scores the head at the VLM's level. */
  speciesOfClass: number[];
  /** Whether every image has a bounding box. */
  hasBoundingBoxes: boolean;
  /** Caption examples of the train split (stage `align`). */
  captions: VlmExample[];
  /** Question-answer conversations of the train split (stage `instruct`). */
  conversations: VlmExample[];
  /** Held-out test images with their species and attribute questions (typed by attribute group). */
  testItems: EvalItem[];
  /** The training images as evaluation items, the same way (for `eval --split train`, e.g. to measure fit). */
  trainItems: EvalItem[];
  /** Type (`species` or the attribute group) and answer of every open training question: the majority baselines. */
  trainingAnswers: TypedAnswer[];
  /** Image id → file path, for every image of both splits. */
  paths: Map<string, string>;
  /** Image id → path with its bounding box (when the folder has `bounding_boxes.txt`). */
  sources: Map<string, ImageSource>;
  trainIds: string[];
  testIds: string[];
}

/** The tasks of a CUB-layout folder (CUB-200-2011, a subset, SynthBirds), with the dataset they come from. */
export interface BirdTasks extends BirdTaskSet {
  dataset: CubDataset;
}

/** The tasks of a NABirds folder, with the dataset they come from. */
export interface NABirdsTasks extends BirdTaskSet {
  dataset: NABirdsDataset;
}

/** Options of `loadBirdTasks`. */
export interface BirdTaskOptions {
  seed?: number;
  /** Question-answer pairs per training conversation. Default 4. */
  questionsPerImage?: number;
  /** Keep only the first `classes` species. */
  classes?: number;
}

/** One image as the task builder sees it, whatever the dataset. */
interface TaskImage {
  imageId: number | string;
  path: string;
  bbox?: BoundingBox;
  isTrain: boolean;
  classIndex: number;
  species: string;
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
  const images = Array.from({ length: dataset.size }, (_, i): TaskImage => {
    const im = dataset.get(i);
    return { ...im, species: im.label };
  });
  const speciesNames = [...new Set([...images].sort((a, b) => a.classIndex - b.classIndex).map((im) => im.species))];
  const set = buildTasks(root, qa, images, await fingerprintFiles(index), speciesNames, speciesNames.length);
  return { ...set, dataset, hasBoundingBoxes: dataset.hasBoundingBoxes };
}

/**
 * Opens a NABirds folder (`root` holds `nabirds/` or is it) and builds the same tasks: the encoder's head learns the
 * visual categories (555 in NABirds), the VLM answers with the species above them (`Common Eider` for
 * `Common Eider (Adult male)`) and learns plumage and group questions from the hierarchy.
 */
export async function loadNABirdsTasks(
  root: string,
  options: Omit<BirdTaskOptions, "classes"> = {},
): Promise<NABirdsTasks> {
  const dataset = await NABirdsDataset.open(root);
  const qa = BirdQA.fromNABirds(dataset, {
    seed: options.seed ?? 0,
    questionsPerImage: options.questionsPerImage ?? 4,
  });
  const index = ["images.txt", "image_class_labels.txt", "train_test_split.txt", "classes.txt", "hierarchy.txt"].map(
    (f) => join(dataset.dir, f),
  );
  const images = Array.from({ length: dataset.size }, (_, i): TaskImage => {
    const im = dataset.get(i);
    return { ...im, species: dataset.speciesOf(im.classId).name };
  });
  const leaves = dataset.leafClasses();
  const speciesNames = [...new Set(leaves.map((c) => dataset.speciesOf(c.id).name))];
  const set = buildTasks(root, qa, images, await fingerprintFiles(index), speciesNames, leaves.length);
  const speciesIndex = new Map(speciesNames.map((n, i) => [n, i]));
  return {
    ...set,
    speciesOfClass: leaves.map((c) => speciesIndex.get(dataset.speciesOf(c.id).name)!),
    dataset,
    hasBoundingBoxes: images.length > 0 && images.every((im) => im.bbox),
  };
}

function buildTasks(
  root: string,
  qa: BirdQA,
  images: TaskImage[],
  fingerprint: string,
  speciesNames: string[],
  numClasses: number,
): Omit<BirdTaskSet, "hasBoundingBoxes"> {
  const paths = new Map<string, string>();
  const sources = new Map<string, ImageSource>();
  const classIndexOf = new Map<string, number>();
  const trainIds: string[] = [],
    testIds: string[] = [];
  const testItems: EvalItem[] = [];
  const trainItems: EvalItem[] = [];
  images.forEach((im, i) => {
    const id = String(im.imageId);
    paths.set(id, im.path);
    sources.set(id, im.bbox ? { path: im.path, bbox: im.bbox } : im.path);
    classIndexOf.set(id, im.classIndex);
    (im.isTrain ? trainIds : testIds).push(id);
    (im.isTrain ? trainItems : testItems).push({
      imageId: id,
      species: im.species,
      attributes: qa
        .evaluationPairs(i)
        .filter((p) => p.fact.kind !== "species")
        .map((p) => ({ question: p.question, answer: p.fact.answer, type: p.fact.topic })),
    });
  });
  if (!trainIds.length) throw new Error(`${root}: no training images (train_test_split.txt marks none with 1)`);
  const conversations = qa.conversations("train");
  const trainingAnswers = conversations.flatMap((r) =>
    r.meta.pairs.flatMap((p) => (p.kind === "open" && p.fact ? [{ type: p.fact.topic, answer: p.answer }] : [])),
  );
  return {
    fingerprint,
    speciesNames,
    numClasses,
    classIndexOf,
    speciesOfClass: Array.from({ length: numClasses }, (_, k) => k),
    captions: qa.captions("train").map(toExample),
    conversations: conversations.map(toExample),
    testItems,
    trainItems,
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
  const species = record.meta.pairs.findIndex((p) => p.kind === "open" && p.fact?.kind === "species");
  const speciesTurn = species >= 0 && record.meta.pairs[0]?.kind !== "caption" ? 2 * species + 1 : -1;
  return {
    imageId: String(record.meta.imageId),
    messages,
    ...(messages[speciesTurn]?.role === "assistant" &&
    messages[speciesTurn]!.content === record.meta.pairs[species]!.answer
      ? { speciesTurn }
      : {}),
  };
}
