/** LongRoPE scaling (Phi-3-*-128k): per-frequency factors for short and long contexts. */
export interface LongRopeScaling {
  type: "longrope";
  /** `head_dim * partialRotaryFactor / 2` factors used while the sequence fits `originalMaxPositionEmbeddings`. */
  shortFactor: number[];
  /** Factors used once the sequence is longer than `originalMaxPositionEmbeddings`. */
  longFactor: number[];
  /**
   * Multiplier of cos/sin. Default: `sqrt(1 + ln(max / original) / ln(original))`, or 1 when
   * `maxPositionEmbeddings <= originalMaxPositionEmbeddings`.
   */
  attentionFactor?: number;
}

/** Hyper-parameters of a Phi-3 decoder, with the defaults of transformers' `Phi3Config`. */
export interface Phi3Config {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Grouped-query attention: each kv head serves `numAttentionHeads / numKeyValueHeads` query heads. */
  numKeyValueHeads: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** Fraction of each head's dimensions that are rotated (1 for Phi-3). */
  partialRotaryFactor: number;
  /** `null`: plain RoPE. */
  ropeScaling: LongRopeScaling | null;
  maxPositionEmbeddings: number;
  originalMaxPositionEmbeddings: number;
  /** A query at position i sees keys j with `i - j < slidingWindow`; `null` for no window. */
  slidingWindow: number | null;
  /** `lm_head` shares the embedding matrix (false for Phi-3). */
  tieWordEmbeddings: boolean;
  /** Dropout on the embeddings, on each residual branch and on attention probabilities (training only). */
  embdPdrop: number;
  residPdrop: number;
  attentionDropout: number;
  /** Standard deviation of the random initialization. */
  initializerRange: number;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

/** The defaults of transformers' `Phi3Config()` (Phi-3-mini-4k). */
export const PHI3_DEFAULTS: Phi3Config = {
  vocabSize: 32064,
  hiddenSize: 3072,
  intermediateSize: 8192,
  numHiddenLayers: 32,
  numAttentionHeads: 32,
  numKeyValueHeads: 32,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  partialRotaryFactor: 1,
  ropeScaling: null,
  maxPositionEmbeddings: 4096,
  originalMaxPositionEmbeddings: 4096,
  slidingWindow: null,
  tieWordEmbeddings: false,
  embdPdrop: 0,
  residPdrop: 0,
  attentionDropout: 0,
  initializerRange: 0.02,
  bosTokenId: 1,
  eosTokenId: 32000,
  padTokenId: 32000,
};

/** Head width `hiddenSize / numAttentionHeads`. */
export function headDim(c: Phi3Config): number {
  return c.hiddenSize / c.numAttentionHeads;
}

/** Builds a complete config from a partial one, checking that the shapes fit together. */
export function phi3Config(partial: Partial<Phi3Config> = {}, source = "Phi3Config"): Phi3Config {
  const c: Phi3Config = { ...PHI3_DEFAULTS, ...partial };
  if (partial.numKeyValueHeads === undefined) c.numKeyValueHeads = c.numAttentionHeads;
  if (partial.originalMaxPositionEmbeddings === undefined) c.originalMaxPositionEmbeddings = c.maxPositionEmbeddings;
  for (const k of [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "numHiddenLayers",
    "numAttentionHeads",
    "numKeyValueHeads",
  ] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`${source}: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.hiddenSize % c.numAttentionHeads !== 0) {
    throw new Error(
      `${source}: hidden_size ${c.hiddenSize} is not divisible by num_attention_heads ${c.numAttentionHeads}`,
    );
  }
  if (c.numAttentionHeads % c.numKeyValueHeads !== 0) {
    throw new Error(
      `${source}: num_attention_heads ${c.numAttentionHeads} is not divisible by num_key_value_heads ${c.numKeyValueHeads}`,
    );
  }
  const rotary = Math.floor(headDim(c) * c.partialRotaryFactor);
  if (rotary % 2 !== 0 || rotary <= 0)
    throw new Error(`${source}: rotary dimension ${rotary} must be positive and even`);
  if (c.ropeScaling) {
    for (const k of ["shortFactor", "longFactor"] as const) {
      const f = c.ropeScaling[k];
      if (!Array.isArray(f) || f.length !== rotary / 2) {
        throw new Error(
          `${source}: rope_scaling.${k === "shortFactor" ? "short_factor" : "long_factor"} must have ${rotary / 2} numbers, got ${Array.isArray(f) ? f.length : typeof f}`,
        );
      }
    }
  }
  return c;
}

type Json = Record<string, unknown>;

/** Reads the rope scaling of an HF config (`rope_scaling` of transformers 4, `rope_parameters` of 5). */
function ropeFromHF(
  json: Json,
  source: string,
): { ropeTheta?: number; partialRotaryFactor?: number; ropeScaling: LongRopeScaling | null } {
  const params = (json.rope_parameters ?? null) as Json | null;
  const scaling = (json.rope_scaling ?? params) as Json | null;
  const ropeTheta = (json.rope_theta ?? params?.rope_theta) as number | undefined;
  const partialRotaryFactor = (json.partial_rotary_factor ?? params?.partial_rotary_factor) as number | undefined;
  if (scaling === null || scaling === undefined) return { ropeTheta, partialRotaryFactor, ropeScaling: null };
  const key = json.rope_scaling !== undefined && json.rope_scaling !== null ? "rope_scaling" : "rope_parameters";
  // as transformers' rope validation: a dict with its type named; anything else is refused, never read as "none"
  if (typeof scaling !== "object" || Array.isArray(scaling))
    throw new Error(`${source}: ${key} must be an object with a 'type', got ${JSON.stringify(scaling)}`);
  const type = (scaling.rope_type ?? scaling.type) as unknown;
  if (type === undefined && key === "rope_scaling")
    throw new Error(`${source}: rope_scaling ${JSON.stringify(scaling)} names no 'type' (or 'rope_type')`);
  if (type !== undefined && typeof type !== "string")
    throw new Error(`${source}: ${key} type must be a string, got ${JSON.stringify(type)}`);
  if (type === undefined || type === "default") return { ropeTheta, partialRotaryFactor, ropeScaling: null };
  if (type !== "longrope" && type !== "su") {
    throw new Error(`${source}: unknown rope type '${type}' in rope_scaling (supported: default, longrope, su)`);
  }
  return {
    ropeTheta,
    partialRotaryFactor,
    ropeScaling: {
      type: "longrope",
      shortFactor: scaling.short_factor as number[],
      longFactor: scaling.long_factor as number[],
      ...(typeof scaling.attention_factor === "number" ? { attentionFactor: scaling.attention_factor } : {}),
    },
  };
}

function firstId(v: unknown): number | undefined {
  if (Array.isArray(v)) return v[0] as number | undefined;
  return typeof v === "number" ? v : undefined;
}

/**
 * Builds a config from a Hugging Face `config.json` object (Phi-3-mini/small/medium, 4k and 128k, as
 * published). Throws an error naming the field for an unknown rope type or an activation other than SiLU.
 */
export function phi3ConfigFromHF(json: Json, source = "config.json"): Phi3Config {
  if (json.model_type !== undefined && json.model_type !== "phi3") {
    throw new Error(`${source}: model_type is '${String(json.model_type)}', expected 'phi3'`);
  }
  const act = json.hidden_act ?? "silu";
  if (act !== "silu") throw new Error(`${source}: hidden_act '${String(act)}' is not supported (Phi-3 uses silu)`);
  const rope = ropeFromHF(json, source);
  const partial: Partial<Phi3Config> = {};
  const set = <K extends keyof Phi3Config>(k: K, v: unknown) => {
    if (v !== undefined && v !== null) partial[k] = v as Phi3Config[K];
  };
  set("vocabSize", json.vocab_size);
  set("hiddenSize", json.hidden_size);
  set("intermediateSize", json.intermediate_size);
  set("numHiddenLayers", json.num_hidden_layers);
  set("numAttentionHeads", json.num_attention_heads);
  set("numKeyValueHeads", json.num_key_value_heads);
  set("rmsNormEps", json.rms_norm_eps);
  set("ropeTheta", rope.ropeTheta);
  set("partialRotaryFactor", rope.partialRotaryFactor);
  partial.ropeScaling = rope.ropeScaling;
  set("maxPositionEmbeddings", json.max_position_embeddings);
  set("originalMaxPositionEmbeddings", json.original_max_position_embeddings);
  partial.slidingWindow = typeof json.sliding_window === "number" ? json.sliding_window : null;
  set("tieWordEmbeddings", json.tie_word_embeddings);
  set("embdPdrop", json.embd_pdrop);
  set("residPdrop", json.resid_pdrop);
  set("attentionDropout", json.attention_dropout);
  set("initializerRange", json.initializer_range);
  set("bosTokenId", firstId(json.bos_token_id));
  set("eosTokenId", firstId(json.eos_token_id));
  set("padTokenId", firstId(json.pad_token_id));
  return phi3Config(partial, source);
}

/** The config as a Hugging Face `config.json` object (what `phi3ConfigFromHF` reads back). */
export function phi3ConfigToHF(c: Phi3Config): Json {
  return {
    architectures: ["Phi3ForCausalLM"],
    model_type: "phi3",
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    num_key_value_heads: c.numKeyValueHeads,
    hidden_act: "silu",
    max_position_embeddings: c.maxPositionEmbeddings,
    original_max_position_embeddings: c.originalMaxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    partial_rotary_factor: c.partialRotaryFactor,
    rope_scaling: c.ropeScaling
      ? {
          type: "longrope",
          short_factor: c.ropeScaling.shortFactor,
          long_factor: c.ropeScaling.longFactor,
          ...(c.ropeScaling.attentionFactor !== undefined ? { attention_factor: c.ropeScaling.attentionFactor } : {}),
        }
      : null,
    sliding_window: c.slidingWindow,
    tie_word_embeddings: c.tieWordEmbeddings,
    embd_pdrop: c.embdPdrop,
    resid_pdrop: c.residPdrop,
    attention_dropout: c.attentionDropout,
    initializer_range: c.initializerRange,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    pad_token_id: c.padTokenId,
    attention_bias: false,
    torch_dtype: "float32",
  };
}

/** `Phi3Config.fromHF(json)`, `.toHF(config)`, `.create(partial)` and `.defaults`, as one namespace. */
export const Phi3Config = {
  defaults: PHI3_DEFAULTS,
  create: phi3Config,
  fromHF: phi3ConfigFromHF,
  toHF: phi3ConfigToHF,
} as const;
