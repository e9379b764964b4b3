import { rngFor, type Rng } from "@birdvlm/core";
import {
  attributeCaptionPhrase,
  attributeQuestions,
  attributeYesNoQuestion,
  withArticle,
} from "./attribute-phrases.js";
import { type BirdFact, CubFacts, type FactThresholds, NABirdsFacts } from "./bird-facts.js";
import type { CubDataset } from "./cub-dataset.js";
import { IMAGE_PLACEHOLDER, type LlavaRecord, type LlavaTurn } from "./llava.js";
import type { NABirdsDataset } from "./nabirds-dataset.js";

/** Kinds of question BirdQA asks. */
export type BirdQAKind = "open" | "yesno";

/** One question and its answer, with the fact it comes from. */
export interface BirdQAPair {
  kind: BirdQAKind;
  question: string;
  answer: string;
  fact: BirdFact;
  /** For yes/no: the value the question names (the fact's answer for "Yes", one of its negatives for "No"). */
  asked?: string;
}

/** What a BirdQA record carries beside the LLaVA fields, so every answer can be traced to its annotation. */
export interface BirdQAMeta {
  imageId: number | string;
  classId: number;
  split: "train" | "test";
  /** One entry per question/answer turn pair, in order. */
  pairs: Array<{
    kind: BirdQAKind | "caption";
    answer: string;
    fact?: BirdEvidence;
    facts?: BirdEvidence[];
    asked?: string;
  }>;
}

/** A fact as recorded in a record's `meta`: without its list of negatives. */
export type BirdEvidence = Omit<BirdFact, "negatives">;

/** A LLaVA record made by BirdQA: `<image>` is in the first human turn; `meta` traces each answer. */
export interface BirdQARecord extends LlavaRecord {
  image: string;
  meta: BirdQAMeta;
}

/** Options of BirdQA. */
export interface BirdQAOptions extends FactThresholds {
  /** Seed of every wording and choice; the same seed gives the same conversations. Default 0. */
  seed?: number;
  /** Question/answer pairs per image: a species question, then attribute or group questions, one yes/no. Default 4. */
  questionsPerImage?: number;
  /** Include one yes/no question per image (answers balanced between yes and no). Default `true`. */
  yesNo?: boolean;
}

/** An image as BirdQA sees it, whatever the dataset. */
interface QAImage {
  imageId: number | string;
  relativePath: string;
  classId: number;
  isTrain: boolean;
}

interface QASource {
  size: number;
  imagesDir: string;
  image(i: number): QAImage;
  facts(i: number): BirdFact[];
}

const SPECIES_QUESTIONS = [
  "What species is this bird?",
  "Name this bird.",
  "What kind of bird is this?",
  "Which bird species is shown in the image?",
  "Can you identify this bird?",
  "What bird is this?",
];
const PLUMAGE_QUESTIONS = ["Which plumage or morph does this bird show?", "What plumage is this bird in?"];
const GROUP_QUESTIONS: Record<string, string[]> = {
  group: ["What group of birds does this one belong to?", "To which family group does this bird belong?"],
  "broad-group": ["Which broad group of birds is this?", "What large group of birds does this one belong to?"],
};
/** Which facts a caption mentions first: the most visible ones. */
const CAPTION_PRIORITY = [
  "bill_shape",
  "wing_color",
  "crown_color",
  "breast_color",
  "upper_tail_color",
  "underparts_color",
  "upperparts_color",
  "back_color",
  "breast_pattern",
  "wing_pattern",
  "throat_color",
  "belly_color",
];
const CAPTION_PROMPTS = [
  "Describe the bird briefly.",
  "Give a short description of this bird.",
  "Write a brief caption for this photo.",
  "What does this image show?",
];

/**
 * Bird questions and answers in the LLaVA conversation format, made from a dataset's annotations and
 * deterministic for a seed:
 * - species questions in varied wordings, answered with the readable species name;
 * - CUB attribute questions (bill shape, part colours, patterns, size, shape...), answered from image-level
 *   labels when the dataset has them, else from class-level values only where one value is decisive;
 * - NABirds plumage and group questions from its hierarchy;
 * - yes/no questions with balanced answers; short captions for stage-1 alignment.
 *
 * Questions for a split come only from that split's images.
 *
 * ```ts
 * const qa = BirdQA.fromCub(await CubDataset.open(dir), { seed: 1 });
 * const train = qa.conversations("train"); // [{ id, image, conversations: [{ from: "human", value: "<image>\n..." }, ...], meta }]
 * ```
 */
export class BirdQA {
  private readonly seed: number;
  private readonly perImage: number;
  private readonly yesNo: boolean;

  private constructor(
    private readonly source: QASource,
    options: BirdQAOptions,
  ) {
    this.seed = options.seed ?? 0;
    this.perImage = options.questionsPerImage ?? 4;
    this.yesNo = options.yesNo ?? true;
    if (!Number.isInteger(this.perImage) || this.perImage < 1)
      throw new Error(`BirdQA: questionsPerImage must be a positive integer, got ${this.perImage}`);
  }

  /** Questions about a CUB-layout dataset (CUB-200-2011, a subset, SynthBirds). */
  static fromCub(dataset: CubDataset, options: BirdQAOptions = {}): BirdQA {
    const facts = new CubFacts(dataset, options);
    return new BirdQA(
      {
        size: dataset.size,
        imagesDir: dataset.imagesDir,
        image: (i) => dataset.get(i),
        facts: (i) => facts.facts(dataset.get(i)),
      },
      options,
    );
  }

  /** Questions about NABirds: species, plumage and the coarser levels of its hierarchy. */
  static fromNABirds(dataset: NABirdsDataset, options: BirdQAOptions = {}): BirdQA {
    const facts = new NABirdsFacts(dataset);
    return new BirdQA(
      {
        size: dataset.size,
        imagesDir: dataset.imagesDir,
        image: (i) => dataset.get(i),
        facts: (i) => facts.facts(dataset.get(i)),
      },
      options,
    );
  }

  /** Number of images. */
  get size(): number {
    return this.source.size;
  }

  /** The folder the records' `image` paths are relative to. */
  get imagesDir(): string {
    return this.source.imagesDir;
  }

  /** Every fact known about image `i`. */
  facts(i: number): BirdFact[] {
    return this.source.facts(i);
  }

  /** The question/answer pairs chosen for image `i` (species first in the list of facts, then shuffled). */
  pairs(i: number): BirdQAPair[] {
    const image = this.source.image(i);
    const rng = rngFor(this.seed, "qa", image.imageId);
    const facts = this.source.facts(i);
    const [species, ...rest] = facts;
    const chosen: BirdQAPair[] = [];
    if (species) chosen.push(this.openPair(species, rng));
    const extras = rng.shuffle([...rest]);
    const openSlots = this.perImage - chosen.length - (this.yesNo ? 1 : 0);
    for (const f of extras.slice(0, Math.max(0, openSlots))) chosen.push(this.openPair(f, rng));
    if (this.yesNo && chosen.length < this.perImage) {
      const candidates = facts.filter((f) => f.negatives.length > 0);
      if (candidates.length > 0) chosen.push(this.yesNoPair(candidates[rng.int(candidates.length)]!, rng));
    }
    return rng.shuffle(chosen);
  }

  /**
   * One open question per fact of image `i`, in the first wording, for evaluation (species accuracy, attribute
   * accuracy): the same questions whatever the seed.
   */
  evaluationPairs(i: number): BirdQAPair[] {
    return this.source
      .facts(i)
      .map((f) => ({ kind: "open", question: this.questionsFor(f)[0]!, answer: f.answer, fact: f }));
  }

  /** A short caption of image `i` built from its facts ("A Black-footed Albatross, a large bird with a hooked bill and grey wings."). */
  caption(i: number): string {
    return this.captionOf(this.source.facts(i), rngFor(this.seed, "caption", this.source.image(i).imageId));
  }

  /**
   * Multi-turn question/answer records of the images of one split (the dataset's own split), one record per
   * image, `<image>` in the first human turn.
   */
  conversations(split: "train" | "test"): BirdQARecord[] {
    const out: BirdQARecord[] = [];
    for (const i of this.indicesOf(split)) {
      const image = this.source.image(i);
      const pairs = this.pairs(i);
      const turns: LlavaTurn[] = pairs.flatMap((p, k) => [
        { from: "human" as const, value: k === 0 ? `${IMAGE_PLACEHOLDER}\n${p.question}` : p.question },
        { from: "gpt" as const, value: p.answer },
      ]);
      const meta: BirdQAMeta = {
        imageId: image.imageId,
        classId: image.classId,
        split,
        pairs: pairs.map((p) => ({
          kind: p.kind,
          answer: p.answer,
          fact: evidence(p.fact),
          ...(p.asked === undefined ? {} : { asked: p.asked }),
        })),
      };
      out.push({ id: String(image.imageId), image: image.relativePath, conversations: turns, meta });
    }
    return out;
  }

  /** Caption records (stage-1 alignment) of the images of one split. */
  captions(split: "train" | "test"): BirdQARecord[] {
    return [...this.indicesOf(split)].map((i) => {
      const image = this.source.image(i);
      const rng = rngFor(this.seed, "caption", image.imageId);
      const facts = this.source.facts(i);
      const caption = this.captionOf(facts, rng);
      const prompt = CAPTION_PROMPTS[rng.int(CAPTION_PROMPTS.length)]!;
      return {
        id: `${image.imageId}-caption`,
        image: image.relativePath,
        conversations: [
          { from: "human", value: `${IMAGE_PLACEHOLDER}\n${prompt}` },
          { from: "gpt", value: caption },
        ],
        meta: {
          imageId: image.imageId,
          classId: image.classId,
          split,
          pairs: [{ kind: "caption", answer: caption, facts: facts.map(evidence) }],
        },
      };
    });
  }

  private *indicesOf(split: "train" | "test"): Generator<number> {
    for (let i = 0; i < this.source.size; i++) if (this.source.image(i).isTrain === (split === "train")) yield i;
  }

  private questionsFor(f: BirdFact): string[] {
    if (f.kind === "species") return SPECIES_QUESTIONS;
    if (f.kind === "plumage") return PLUMAGE_QUESTIONS;
    if (f.kind === "group") return GROUP_QUESTIONS[f.topic] ?? GROUP_QUESTIONS.group!;
    return attributeQuestions(f.topic);
  }

  private openPair(f: BirdFact, rng: Rng): BirdQAPair {
    const wordings = this.questionsFor(f);
    return { kind: "open", question: wordings[rng.int(wordings.length)]!, answer: f.answer, fact: f };
  }

  private yesNoPair(f: BirdFact, rng: Rng): BirdQAPair {
    const yes = rng.float() < 0.5;
    const asked = yes ? f.answer : f.negatives[rng.int(f.negatives.length)]!;
    let question: string;
    if (f.kind === "species")
      question =
        rng.float() < 0.5 ? `Is this ${withArticle(asked)}?` : `Is the bird in the picture ${withArticle(asked)}?`;
    else if (f.kind === "plumage") question = `Is this bird in ${asked.toLowerCase()} plumage?`;
    else if (f.kind === "group") question = `Is this bird one of the ${asked}?`;
    else question = attributeYesNoQuestion(f.topic, asked);
    return { kind: "yesno", question, answer: yes ? "Yes" : "No", fact: f, asked };
  }

  private captionOf(facts: BirdFact[], rng: Rng): string {
    const species = facts.find((f) => f.kind === "species");
    const name = species ? species.answer : "bird";
    const plumage = facts.find((f) => f.kind === "plumage");
    const head = `${withArticle(name)}${plumage ? ` (${plumage.answer.toLowerCase()})` : ""}`;
    const group = facts.find((f) => f.kind === "group");
    const size = facts.find((f) => f.topic === "size");
    const rank = (topic: string): number => {
      const k = CAPTION_PRIORITY.indexOf(topic);
      return k < 0 ? CAPTION_PRIORITY.length : k;
    };
    const features = facts
      .filter((f) => f.kind === "attribute" && f.topic !== "size")
      .sort((a, b) => rank(a.topic) - rank(b.topic))
      .map((f) => attributeCaptionPhrase(f.topic, f.answer))
      .filter((p): p is string => p !== undefined)
      .slice(0, 2);
    if (features.length === 2 && rng.float() < 0.5) features.reverse();
    const body = size ? `${withArticle(size.answer)} bird` : "a bird";
    if (features.length > 0) return `${capitalize(head)}, ${body} with ${features.join(" and ")}.`;
    if (size) return `${capitalize(head)}, ${body}.`;
    if (group) return `${capitalize(head)}, one of the ${group.answer}.`;
    return `A photo of ${head}.`;
  }
}

function evidence(f: BirdFact): BirdEvidence {
  const { negatives: _negatives, ...rest } = f;
  return rest;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
