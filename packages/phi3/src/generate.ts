import {
  tf,
  type GenerateOptions,
  type LanguageModelForwardOptions,
  type LanguageModelOutput,
  type TokenEmbeddings,
} from "@birdvlm/core";
import type { Phi3Config } from "./config.js";
import type { Phi3KVCache } from "./kv-cache.js";
import { TokenSampler } from "./sampler.js";

/**
 * Generation options with Phi-3 extras. Sampling applies temperature, then top-k, then top-p; an unset `topK`
 * means no top-k filter (transformers' `GenerationConfig` defaults to 50).
 */
export interface Phi3GenerateOptions extends GenerateOptions {
  /** Reuse keys/values with a KV cache (default `true`); `false` recomputes the whole sequence each step. */
  useCache?: boolean;
  /** Pad id for left padding of batched prompts. Default: the config's `padTokenId`. */
  padTokenId?: number;
}

/** What generation needs from a model (`Phi3ForCausalLM` is one). */
export interface GenerationModel {
  readonly config: Phi3Config;
  /** One pass; `logitsToKeep: 1` asks for the last position's logits only. */
  forward(
    inputIds: tf.Tensor2D | null,
    options?: LanguageModelForwardOptions & { logitsToKeep?: number },
  ): LanguageModelOutput;
  embed(ids: tf.Tensor2D): TokenEmbeddings;
  newCache(): Phi3KVCache;
}

function checkInputs(lm: GenerationModel, prompts: number[][], o: Phi3GenerateOptions): void {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new Error("generate: give at least one prompt");
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) {
    throw new Error(`generate: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  }
  const v = lm.config.vocabSize;
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new Error(`generate: prompt ${i} is empty`);
    const bad = p.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= v);
    if (bad >= 0) throw new Error(`generate: prompt ${i} has token ${p[bad]} at ${bad}, outside [0, ${v})`);
  });
  if (o.promptEmbeds) {
    if (o.promptEmbeds.length !== prompts.length) {
      throw new Error(`generate: promptEmbeds has ${o.promptEmbeds.length} entries for ${prompts.length} prompts`);
    }
    o.promptEmbeds.forEach((e, i) => {
      const want = [1, prompts[i]!.length, lm.config.hiddenSize];
      if (e.rank !== 3 || e.shape.some((d, j) => d !== want[j])) {
        throw new Error(`generate: promptEmbeds[${i}] must be [${want}], got [${e.shape}]`);
      }
    });
  }
}

/** `[B, L, D]`: each prompt's embeddings, left-padded with zeros to the longest prompt. */
function paddedPromptEmbeds(embeds: TokenEmbeddings[], length: number): tf.Tensor3D {
  return tf.tidy(
    () =>
      tf.concat(
        embeds.map((e) => {
          const pad = length - e.shape[1];
          return pad > 0 ? tf.concat([tf.zeros([1, pad, e.shape[2]]), e], 1) : e;
        }),
        0,
      ) as tf.Tensor3D,
  );
}

/**
 * Autoregressive generation over a left-padded batch (see `Phi3ForCausalLM.generate`). Each step moves only
 * the chosen tokens (greedy: `B` ids; sampling: the last logits row) to the host.
 */
export async function generate(lm: GenerationModel, prompts: number[][], o: Phi3GenerateOptions): Promise<number[][]> {
  checkInputs(lm, prompts, o);
  const b = prompts.length;
  const length = Math.max(...prompts.map((p) => p.length));
  const padded = prompts.some((p) => p.length !== length);
  const pad = o.padTokenId ?? lm.config.padTokenId;
  const sequences = prompts.map((p) => [...new Array<number>(length - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [
    ...new Array<number>(length - p.length).fill(0),
    ...new Array<number>(p.length).fill(1),
  ]);
  const stops = new Set(o.stopTokenIds ?? []);
  const sampler = o.doSample ? new TokenSampler(o) : undefined;
  const results: number[][] = prompts.map(() => []);
  const finished = new Array<boolean>(b).fill(false);
  const useCache = o.useCache ?? true;
  const cache = useCache ? lm.newCache() : undefined;
  const promptEmbeds = o.promptEmbeds ? paddedPromptEmbeds(o.promptEmbeds, length) : undefined;
  try {
    for (let step = 0; step < o.maxNewTokens; step++) {
      const fromCache = cache !== undefined && step > 0;
      const logits = tf.tidy(() => {
        const cols = fromCache ? sequences.map((s) => s.slice(-1)) : sequences;
        const ids = tf.tensor2d(cols, [b, cols[0]!.length], "int32");
        let inputsEmbeds: tf.Tensor3D | undefined;
        if (promptEmbeds && !fromCache) {
          inputsEmbeds =
            step === 0
              ? promptEmbeds
              : (tf.concat([promptEmbeds, lm.embed(tf.slice(ids, [0, length], [b, step]))], 1) as tf.Tensor3D);
        }
        const out = lm.forward(inputsEmbeds ? null : ids, {
          attentionMask: padded ? tf.tensor2d(mask, [b, mask[0]!.length], "int32") : undefined,
          inputsEmbeds,
          cache,
          logitsToKeep: 1,
        });
        return tf.reshape(out.logits, [b, lm.config.vocabSize]) as tf.Tensor2D;
      });
      let next: number[];
      try {
        next = await pickTokens(logits, sampler);
      } finally {
        logits.dispose();
      }
      for (let i = 0; i < b; i++) {
        if (finished[i]) {
          next[i] = pad;
          continue;
        }
        results[i]!.push(next[i]!);
        o.onToken?.(next[i]!, i);
        if (stops.has(next[i]!)) finished[i] = true;
      }
      if (finished.every(Boolean)) break;
      sequences.forEach((s, i) => s.push(next[i]!));
      mask.forEach((m) => m.push(1));
    }
  } finally {
    cache?.dispose();
    promptEmbeds?.dispose();
  }
  return results;
}

async function pickTokens(logits: tf.Tensor2D, sampler: TokenSampler | undefined): Promise<number[]> {
  if (!sampler) {
    const arg = tf.argMax(logits, -1);
    try {
      return Array.from(await arg.data());
    } finally {
      arg.dispose();
    }
  }
  const [b, v] = logits.shape;
  const data = await logits.data();
  return Array.from({ length: b }, (_, i) => sampler.sample(data.subarray(i * v, (i + 1) * v)));
}
