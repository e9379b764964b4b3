import { Rng } from "@birdvlm/core";

/** Options that decide how the next token is picked from logits. */
export interface SamplingOptions {
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
}

/**
 * Picks tokens from one row of logits on the host, as transformers' warpers do: temperature, then top-k,
 * then top-p (the smallest set of most likely tokens whose probability reaches `topP`), then a seeded draw.
 */
export class TokenSampler {
  private readonly rng: Rng;
  private readonly temperature: number;
  private readonly topK: number;
  private readonly topP: number;

  constructor(options: SamplingOptions) {
    this.temperature = options.temperature ?? 1;
    this.topK = options.topK ?? 0;
    this.topP = options.topP ?? 1;
    if (!(this.temperature > 0))
      throw new Error(`generate: temperature must be > 0 when sampling, got ${this.temperature}`);
    if (!Number.isInteger(this.topK) || this.topK < 0)
      throw new Error(`generate: topK must be a non-negative integer, got ${this.topK}`);
    if (!(this.topP > 0 && this.topP <= 1)) throw new Error(`generate: topP must be in (0, 1], got ${this.topP}`);
    this.rng = new Rng(options.seed ?? Math.floor(Math.random() * 2 ** 31));
  }

  /** Draws one token id from `logits` (one row of `vocab` floats). */
  sample(logits: ArrayLike<number>): number {
    const v = logits.length;
    if (this.topK === 0 && this.topP === 1) return this.sampleAll(logits);
    const order = Array.from({ length: v }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!);
    const k = this.topK > 0 ? Math.min(this.topK, v) : v;
    const max = logits[order[0]!]! / this.temperature;
    const probs = new Float64Array(k);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      probs[i] = Math.exp(logits[order[i]!]! / this.temperature - max);
      sum += probs[i]!;
    }
    let kept = k;
    if (this.topP < 1) {
      let above = 0;
      for (let i = 0; i < k; i++) {
        if (above >= this.topP * sum) {
          kept = i;
          break;
        }
        above += probs[i]!;
      }
    }
    let total = 0;
    for (let i = 0; i < kept; i++) total += probs[i]!;
    let u = this.rng.float() * total;
    for (let i = 0; i < kept; i++) {
      u -= probs[i]!;
      if (u < 0) return order[i]!;
    }
    return order[kept - 1]!;
  }

  /** Draw from the whole softmax (no top-k / top-p), without sorting. */
  private sampleAll(logits: ArrayLike<number>): number {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
    const probs = new Float64Array(logits.length);
    let total = 0;
    for (let i = 0; i < logits.length; i++) total += probs[i] = Math.exp((logits[i]! - max) / this.temperature);
    let u = this.rng.float() * total;
    for (let i = 0; i < logits.length; i++) {
      u -= probs[i]!;
      if (u < 0) return i;
    }
    return logits.length - 1;
  }
}
