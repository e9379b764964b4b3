/**
 * `@birdvlm/phi3`: a Phi-3 decoder that loads the published checkpoints and computes what transformers'
 * `Phi3ForCausalLM` computes; KV-cache generation; LoRA; the Phi-3 tokenizer with its chat template.
 * @packageDocumentation
 */
export {
  Phi3Config,
  PHI3_DEFAULTS,
  phi3Config,
  phi3ConfigFromHF,
  phi3ConfigToHF,
  headDim,
  type LongRopeScaling,
} from "./config.js";
export {
  Phi3ForCausalLM,
  type Phi3InitOptions,
  type Phi3LoadOptions,
  type Phi3ForwardOptions,
} from "./phi3-for-causal-lm.js";
export { type Phi3GenerateOptions } from "./generate.js";
export { Phi3KVCache, type LayerKV } from "./kv-cache.js";
export { readPhi3Config } from "./checkpoint.js";
export { Phi3Tokenizer } from "./tokenizer.js";
export {
  buildWordLevelTokenizer,
  PHI3_CHAT_TEMPLATE,
  PHI3_SPECIAL_TOKENS,
  type WordLevelOptions,
} from "./word-level.js";
export {
  applyLoRA,
  mergeLoRA,
  removeLoRA,
  loadLoRA,
  loraAdaptersOf,
  LoRAAdapters,
  LoRALinear,
  type LoRAOptions,
  type LoRATarget,
} from "./lora.js";
export { type Phi3WeightDtype } from "./bf16-weights.js";
