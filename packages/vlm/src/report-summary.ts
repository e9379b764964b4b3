import { containsWords, normalizeText, speciesInAnswer } from "./species-match.js";

/** A question's type (`species`, or an attribute group such as `wing_color`) and its expected answer. */
export interface TypedAnswer {
  type: string;
  answer: string;
}

/** Accuracy on one question type, next to what always giving the most common training answer would score. */
export interface QuestionTypeScore {
  /** `species` (free answers to the species question) or the attribute group (`wing_color`, `bill_shape`...). */
  type: string;
  questions: number;
  /** Fraction of the answers scored right (species: names the right species; attributes: contain the key). */
  accuracy: number;
  /** The most common answer of this type among the training questions; absent when training asked none. */
  majorityAnswer?: string;
  /** Fraction of these test questions that `majorityAnswer` gets right, scored as the model's answers are (0 without one). */
  baseline: number;
}

/** A pair of species the model mixes up: images of `truth` whose free answer named `answered`. */
export interface ConfusedPair {
  truth: string;
  answered: string;
  count: number;
  /** `count` over the images of `truth`. */
  share: number;
}

/**
 * The most common answer per question type (answers compared normalized; ties go to the answer seen first).
 * @param training the training questions' types and answers (e.g. every open question BirdQA wrote for the train split).
 */
export function majorityAnswers(training: Iterable<TypedAnswer>): Map<string, string> {
  const counts = new Map<string, Map<string, { answer: string; n: number }>>();
  for (const { type, answer } of training) {
    const key = normalizeText(answer);
    if (!key) continue;
    const byAnswer = counts.get(type) ?? new Map<string, { answer: string; n: number }>();
    counts.set(type, byAnswer);
    const entry = byAnswer.get(key);
    if (entry) entry.n++;
    else byAnswer.set(key, { answer, n: 1 });
  }
  const out = new Map<string, string>();
  for (const [type, byAnswer] of counts) {
    let best: { answer: string; n: number } | undefined;
    for (const e of byAnswer.values()) if (!best || e.n > best.n) best = e;
    out.set(type, best!.answer);
  }
  return out;
}

/**
 * Whether `answer` is right for a question of `type` expecting `expected`, by the rule `evaluate` scores with:
 * a species answer must name `expected` (the longest species name found in it, among `speciesNames`), an
 * attribute answer must contain `expected` as whole words.
 */
export function answerIsRight(
  type: string,
  answer: string,
  expected: string,
  speciesNames: readonly string[] = [],
): boolean {
  if (type === "species") return speciesInAnswer(answer, speciesNames.length ? speciesNames : [expected]) === expected;
  return containsWords(answer, expected);
}

/** Tallies right answers and the majority baseline per question type while `evaluate` scores. */
export class QuestionTypeTally {
  private readonly tallies = new Map<string, { questions: number; right: number; baselineRight: number }>();

  constructor(
    private readonly majority: Map<string, string>,
    private readonly speciesNames: readonly string[],
  ) {}

  /** Counts one scored question of `type`, expecting `expected`, that the model got right or not. */
  add(type: string, expected: string, right: boolean): void {
    const t = this.tallies.get(type) ?? { questions: 0, right: 0, baselineRight: 0 };
    this.tallies.set(type, t);
    t.questions++;
    if (right) t.right++;
    const m = this.majority.get(type);
    if (m !== undefined && answerIsRight(type, m, expected, this.speciesNames)) t.baselineRight++;
  }

  /** Scores per type, species first, then the attribute types by number of questions (most first), then by name. */
  scores(): QuestionTypeScore[] {
    return [...this.tallies.entries()]
      .map(([type, t]) => ({
        type,
        questions: t.questions,
        accuracy: t.right / t.questions,
        ...(this.majority.has(type) ? { majorityAnswer: this.majority.get(type)! } : {}),
        baseline: t.baselineRight / t.questions,
      }))
      .sort(
        (a, b) =>
          Number(b.type === "species") - Number(a.type === "species") ||
          b.questions - a.questions ||
          a.type.localeCompare(b.type),
      );
  }

  /** The majority baseline over every question whose type is not `species` (undefined when there were none). */
  attributeBaseline(): number | undefined {
    let n = 0,
      right = 0;
    for (const [type, t] of this.tallies)
      if (type !== "species") {
        n += t.questions;
        right += t.baselineRight;
      }
    return n ? right / n : undefined;
  }
}

/**
 * The `limit` most confused pairs of a confusion matrix (`matrix[i][j]`: images of species i answered as j; a last
 * column past the names counts answers naming no species and is left out), most images first, then by share.
 */
export function mostConfusedPairs(matrix: number[][], names: readonly string[], limit = 20): ConfusedPair[] {
  const pairs: ConfusedPair[] = [];
  matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      if (j === i || j >= names.length || count === 0) return;
      pairs.push({ truth: names[i]!, answered: names[j]!, count, share: count / total });
    });
  });
  return pairs.sort((a, b) => b.count - a.count || b.share - a.share || a.truth.localeCompare(b.truth)).slice(0, limit);
}

/** What `formatEvalSummary` reads from a report. */
export interface SummaryInput {
  split: string;
  images: number;
  speciesAccuracy: number;
  top1?: number;
  top5?: number;
  attributeAccuracy?: number;
  attributeBaseline?: number;
  attributeQuestions: number;
  questionTypes?: QuestionTypeScore[];
  mostConfused?: ConfusedPair[];
}

const pct = (x: number | undefined) => (x === undefined ? "   -  " : `${(x * 100).toFixed(1).padStart(5)}%`);

/**
 * The printed summary of an evaluation: species accuracy (free answers, likelihood top-1/top-5), then one line per
 * question type with its accuracy beside the majority-answer baseline, then the most confused species pairs.
 */
export function formatEvalSummary(r: SummaryInput, options: { confusedPairs?: number } = {}): string[] {
  const lines = [`${r.split}: ${r.images} images`];
  const species = r.questionTypes?.find((q) => q.type === "species");
  lines.push(
    `  species, free answers: ${pct(r.speciesAccuracy).trim()}` +
      (species ? ` (majority baseline ${pct(species.baseline).trim()})` : "") +
      (r.top1 !== undefined ? `; by likelihood top-1 ${pct(r.top1).trim()}, top-5 ${pct(r.top5).trim()}` : ""),
  );
  const attrs = (r.questionTypes ?? []).filter((q) => q.type !== "species");
  if (r.attributeQuestions) {
    lines.push(
      `  attributes: ${pct(r.attributeAccuracy).trim()} over ${r.attributeQuestions} questions` +
        (r.attributeBaseline !== undefined ? ` (majority baseline ${pct(r.attributeBaseline).trim()})` : ""),
    );
  }
  if (attrs.length) {
    const width = Math.max(13, ...attrs.map((q) => q.type.length));
    lines.push(`  ${"question type".padEnd(width)}  questions  accuracy  majority  (majority answer)`);
    for (const q of attrs)
      lines.push(
        `  ${q.type.padEnd(width)}  ${String(q.questions).padStart(9)}  ${pct(q.accuracy).padStart(8)}  ${pct(q.baseline).padStart(8)}  ${q.majorityAnswer ?? "-"}`,
      );
  }
  const pairs = (r.mostConfused ?? []).slice(0, options.confusedPairs ?? 5);
  if (pairs.length) {
    lines.push(`  most confused (true -> answered):`);
    for (const p of pairs) lines.push(`    ${p.truth} -> ${p.answered}: ${p.count} (${pct(p.share).trim()})`);
  }
  return lines;
}
