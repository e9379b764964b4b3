import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crossEntropy, tf } from "@birdvlm/core";
import type { BirdVLM } from "./birdvlm.js";
import { collate } from "./collate.js";
import { confusionPng } from "./confusion-png.js";
import type { ImageTable } from "./image-table.js";
import { labelConversation } from "./labels.js";
import { overlapByPart } from "./provenance.js";
import {
  QuestionTypeTally,
  majorityAnswers,
  mostConfusedPairs,
  type ConfusedPair,
  type QuestionTypeScore,
  type TypedAnswer,
} from "./report-summary.js";
import { containsWords, speciesInAnswer } from "./species-match.js";
import { withImageMarkers } from "./train-stage.js";

/** One evaluation image: its species and, optionally, attribute questions with their expected answers. */
export interface EvalItem {
  imageId: string;
  species: string;
  /**
   * `answer` is the expected key (e.g. `blue`); a model answer is right when it contains it as whole words. `type`
   * is the question's type for the per-type scores (e.g. `wing_color`; default `attribute`).
   */
  attributes?: Array<{ question: string; answer: string; type?: string }>;
}

/** A held-out split to score a BirdVLM on. */
export interface EvalSet {
  /** Fingerprint of the dataset (compared with the model's provenance). */
  dataset: string;
  items: EvalItem[];
  images: ImageTable;
  /** Every candidate species name (for free-answer matching and likelihood ranking). */
  speciesNames: string[];
  /** Default `What species is this bird?`. */
  speciesQuestion?: string;
  /** Answer whose likelihood ranks a candidate, `{species}` replaced by its name. Default `{species}`. */
  answerTemplate?: string;
  /**
   * The training questions' types and answers (species questions with type `species`): the most common answer per
   * type is the majority baseline the report puts beside each type's accuracy.
   */
  trainingAnswers?: readonly TypedAnswer[];
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Name of the split, written in the report. Default `test`. */
  split?: string;
  /** Score images that trained a part anyway (the report says so on its first line). Default false. */
  allowOverlap?: boolean;
  /** Rank every species name by likelihood (top-1/top-5). Default true. */
  rankSpecies?: boolean;
  /** Images per batch of generation. Default 16. */
  batchSize?: number;
  maxNewTokens?: number;
  /** Writes `report.json` and `confusion.png` here. */
  outDir?: string;
  log?: (line: string) => void;
}

/** What `evaluate` measured. Accuracies are fractions in [0,1]. */
export interface EvalReport {
  /** First line of the report: the overlap notice when `allowOverlap` let trained images in. */
  notice?: string;
  split: string;
  dataset: string;
  images: number;
  /** Free answer to the species question names the right species. */
  speciesAccuracy: number;
  /** Right species ranked first / in the first five by likelihood (when ranked). */
  top1?: number;
  top5?: number;
  /** Attribute answers containing the expected key; `undefined` when there were no attribute questions. */
  attributeAccuracy?: number;
  attributeQuestions: number;
  /** What always giving the most common training answer of each type scores on the attribute questions. */
  attributeBaseline?: number;
  /** Accuracy per question type (`species` first) beside its majority-answer baseline. */
  questionTypes: QuestionTypeScore[];
  /** The 20 most confused species pairs of the free answers. */
  mostConfused: ConfusedPair[];
  /** `confusion[i][j]`: images of species i whose free answer named species j (j = names.length: none). */
  confusion: number[][];
  speciesNames: string[];
  samples: Array<{ imageId: string; question: string; answer: string; expected: string }>;
}

/**
 * Scores a BirdVLM on held-out images: species accuracy from free answers, top-1/top-5 by likelihood, attribute
 * accuracy, each question type beside its majority-answer baseline, the most confused species pairs. With `outDir`
 * writes `report.json` and `confusion.png` (the matrix with names at few species, else the most confused pairs).
 * Refuses, naming the part and the count, images that trained any part (unless `allowOverlap`).
 */
export async function evaluate(vlm: BirdVLM, set: EvalSet, options: EvaluateOptions = {}): Promise<EvalReport> {
  const split = options.split ?? "test";
  const log = options.log ?? (() => undefined);
  const overlap = overlapByPart(
    vlm.provenance,
    set.dataset,
    set.items.map((i) => i.imageId),
  );
  let notice: string | undefined;
  if (overlap.length) {
    const what = overlap
      .map((o) => `${o.count} of the ${set.items.length} ${split} images trained the ${o.part}`)
      .join("; ");
    if (!options.allowOverlap)
      throw new Error(
        `evaluate: ${what}. Evaluate on images no part saw, or pass allowOverlap: true (--allow-overlap) to score them anyway`,
      );
    notice = `overlap allowed: ${what}; these scores are not held-out`;
  }
  const names = set.speciesNames;
  const nameIndex = new Map(names.map((n, i) => [n, i]));
  const question = set.speciesQuestion ?? "What species is this bird?";
  const confusion = names.map(() => new Array<number>(names.length + 1).fill(0));
  const samples: EvalReport["samples"] = [];
  const tally = new QuestionTypeTally(majorityAnswers(set.trainingAnswers ?? []), names);
  let speciesRight = 0,
    top1 = 0,
    top5 = 0,
    attrRight = 0,
    attrTotal = 0;
  const bs = options.batchSize ?? 16;
  const started = Date.now();
  for (let s = 0; s < set.items.length; s += bs) {
    const items = set.items.slice(s, s + bs);
    const images = set.images.gather(items.map((i) => i.imageId));
    try {
      const answers = await vlm.askBatch(images, [question], { maxNewTokens: options.maxNewTokens ?? 24 });
      items.forEach((item, i) => {
        const truth = nameIndex.get(item.species);
        if (truth === undefined)
          throw new Error(
            `evaluate: image ${item.imageId} has species '${item.species}', not among the ${names.length} species names`,
          );
        const said = speciesInAnswer(answers[i]!, names);
        confusion[truth]![said === undefined ? names.length : nameIndex.get(said)!]!++;
        if (said === item.species) speciesRight++;
        tally.add("species", item.species, said === item.species);
        if (samples.length < 200)
          samples.push({ imageId: item.imageId, question, answer: answers[i]!, expected: item.species });
      });
      const attrQs = items.flatMap((item, i) => (item.attributes ?? []).map((a) => ({ i, ...a })));
      if (attrQs.length) {
        const sub = tf.tidy(
          () =>
            tf.gather(
              images,
              tf.tensor1d(
                attrQs.map((q) => q.i),
                "int32",
              ),
            ) as tf.Tensor4D,
        );
        const attrAnswers = await vlm
          .askBatch(
            sub,
            attrQs.map((q) => q.question),
            { maxNewTokens: options.maxNewTokens ?? 24 },
          )
          .finally(() => sub.dispose());
        attrQs.forEach((q, j) => {
          attrTotal++;
          const right = containsWords(attrAnswers[j]!, q.answer);
          if (right) attrRight++;
          tally.add(q.type ?? "attribute", q.answer, right);
          if (samples.length < 200)
            samples.push({
              imageId: items[q.i]!.imageId,
              question: q.question,
              answer: attrAnswers[j]!,
              expected: q.answer,
            });
        });
      }
      if (options.rankSpecies ?? true) {
        for (let i = 0; i < items.length; i++) {
          const scores = await rankAnswers(
            vlm,
            tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D,
            question,
            names.map((n) => (set.answerTemplate ?? "{species}").replace("{species}", n)),
          );
          const order = names.map((_, j) => j).sort((a, b) => scores[b]! - scores[a]!);
          const truth = nameIndex.get(items[i]!.species)!;
          if (order[0] === truth) top1++;
          if (order.slice(0, 5).includes(truth)) top5++;
        }
      }
    } finally {
      images.dispose();
    }
    log(
      `eval ${split}: ${Math.min(s + bs, set.items.length)}/${set.items.length} images  species ${((100 * speciesRight) / Math.min(s + bs, set.items.length)).toFixed(1)}%  ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  }
  const n = set.items.length;
  const report: EvalReport = {
    ...(notice ? { notice } : {}),
    split,
    dataset: set.dataset,
    images: n,
    speciesAccuracy: speciesRight / n,
    ...((options.rankSpecies ?? true) ? { top1: top1 / n, top5: top5 / n } : {}),
    attributeAccuracy: attrTotal ? attrRight / attrTotal : undefined,
    attributeQuestions: attrTotal,
    attributeBaseline: tally.attributeBaseline(),
    questionTypes: tally.scores(),
    mostConfused: mostConfusedPairs(confusion, names),
    confusion,
    speciesNames: names,
    samples,
  };
  if (options.outDir) {
    await mkdir(options.outDir, { recursive: true });
    await writeFile(join(options.outDir, "report.json"), JSON.stringify(report, null, 2) + "\n");
    await writeFile(
      join(options.outDir, "confusion.png"),
      await confusionPng(confusion, names, { title: `Species answers on ${split} (${n} images)` }),
    );
  }
  return report;
}

/**
 * Log-likelihood of each candidate answer to a question about one image (`[1,S,S,3]`): the sum over the answer's
 * tokens and its end token of log p(token | image, question, earlier answer tokens).
 */
export async function rankAnswers(
  vlm: BirdVLM,
  image: tf.Tensor4D,
  question: string,
  answers: readonly string[],
): Promise<number[]> {
  try {
    const seqs = answers.map((a) =>
      labelConversation(
        vlm.tokenizer,
        withImageMarkers(vlm, [
          { role: "user", content: question },
          { role: "assistant", content: a },
        ]),
      ),
    );
    const batch = collate(seqs, vlm.tokenizer.stopTokenIds[0] ?? 0);
    const scores = tf.tidy(() => {
      const one = vlm.encodeImages(image);
      const embeds = tf.tile(one, [answers.length, 1, 1]) as tf.Tensor3D;
      const logits = vlm.logitsWithImageEmbeds(batch, embeds);
      const [b, t, v] = logits.shape;
      const labels = tf.tensor2d(batch.labels, [b, t], "int32");
      const nll = crossEntropy(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), tf.slice(labels, [0, 1], [b, t - 1]), {
        reduction: "none",
      });
      return tf.neg(tf.sum(nll, 1));
    });
    const out = Array.from(await scores.data());
    scores.dispose();
    return out;
  } finally {
    image.dispose();
  }
}
