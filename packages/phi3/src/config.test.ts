import { describe, expect, it } from "vitest";
import { Phi3Config, phi3ConfigFromHF, phi3ConfigToHF } from "./config.js";

/** `config.json` of microsoft/Phi-3-mini-4k-instruct, as published. */
const MINI_4K = {
  _name_or_path: "Phi-3-mini-4k-instruct",
  architectures: ["Phi3ForCausalLM"],
  attention_dropout: 0.0,
  auto_map: { AutoConfig: "configuration_phi3.Phi3Config", AutoModelForCausalLM: "modeling_phi3.Phi3ForCausalLM" },
  bos_token_id: 1,
  embd_pdrop: 0.0,
  eos_token_id: 32000,
  hidden_act: "silu",
  hidden_size: 3072,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 4096,
  model_type: "phi3",
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  original_max_position_embeddings: 4096,
  pad_token_id: 32000,
  resid_pdrop: 0.0,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  sliding_window: 2047,
  tie_word_embeddings: false,
  torch_dtype: "bfloat16",
  transformers_version: "4.40.2",
  use_cache: true,
  attention_bias: false,
  vocab_size: 32064,
};

const factors = (n: number, v: number) => Array.from({ length: n }, (_, i) => v + i * 0.01);

/** The shape of microsoft/Phi-3-mini-128k-instruct's config (factor lists shortened to their real length 48). */
const MINI_128K = {
  ...MINI_4K,
  max_position_embeddings: 131072,
  original_max_position_embeddings: 4096,
  rope_scaling: { type: "longrope", short_factor: factors(48, 1), long_factor: factors(48, 1.1) },
  sliding_window: 262144,
};

/** microsoft/Phi-3-medium-4k-instruct: grouped-query attention. */
const MEDIUM_4K = {
  ...MINI_4K,
  hidden_size: 5120,
  intermediate_size: 17920,
  num_attention_heads: 40,
  num_hidden_layers: 40,
  num_key_value_heads: 10,
};

describe("Phi3Config", () => {
  it("reads Phi-3-mini-4k as published", () => {
    const c = Phi3Config.fromHF(MINI_4K);
    expect(c).toMatchObject({
      hiddenSize: 3072,
      numHiddenLayers: 32,
      numAttentionHeads: 32,
      numKeyValueHeads: 32,
      intermediateSize: 8192,
      vocabSize: 32064,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      slidingWindow: 2047,
      ropeScaling: null,
      tieWordEmbeddings: false,
      eosTokenId: 32000,
    });
  });

  it("reads LongRoPE scaling of the 128k variant", () => {
    const c = phi3ConfigFromHF(MINI_128K);
    expect(c.ropeScaling?.type).toBe("longrope");
    expect(c.ropeScaling?.shortFactor).toHaveLength(48);
    expect(c.ropeScaling?.longFactor[0]).toBeCloseTo(1.1);
    expect(c.originalMaxPositionEmbeddings).toBe(4096);
    expect(c.maxPositionEmbeddings).toBe(131072);
    const { rope_theta: _theta, rope_scaling: _scaling, ...noRope } = MINI_4K;
    const transformers5 = {
      ...noRope,
      rope_parameters: {
        rope_type: "longrope",
        rope_theta: 500,
        short_factor: factors(48, 1),
        long_factor: factors(48, 2),
      },
    };
    expect(phi3ConfigFromHF(transformers5).ropeTheta).toBe(500);
    expect(
      phi3ConfigFromHF({ ...MINI_128K, rope_scaling: { ...MINI_128K.rope_scaling, type: "su" } }).ropeScaling?.type,
    ).toBe("longrope");
  });

  it("reads grouped-query attention (Phi-3-medium)", () => {
    const c = phi3ConfigFromHF(MEDIUM_4K);
    expect(c.numAttentionHeads / c.numKeyValueHeads).toBe(4);
  });

  it("defaults kv heads to the query heads and the original length to the max length", () => {
    const c = phi3ConfigFromHF({ hidden_size: 64, num_attention_heads: 4, max_position_embeddings: 512 });
    expect(c.numKeyValueHeads).toBe(4);
    expect(c.originalMaxPositionEmbeddings).toBe(512);
    expect(c.slidingWindow).toBeNull();
  });

  it("round-trips through toHF", () => {
    const c = phi3ConfigFromHF(MINI_128K);
    expect(phi3ConfigFromHF(phi3ConfigToHF(c))).toEqual(c);
  });

  it("names bad fields", () => {
    expect(() => phi3ConfigFromHF({ ...MINI_4K, rope_scaling: { type: "yarn", factor: 4 } }, "x/config.json")).toThrow(
      /x\/config.json: unknown rope type 'yarn'/,
    );
    expect(() =>
      phi3ConfigFromHF({ ...MINI_128K, rope_scaling: { type: "longrope", short_factor: [1], long_factor: [1] } }),
    ).toThrow(/short_factor must have 48/);
    expect(() => phi3ConfigFromHF({ ...MINI_4K, num_key_value_heads: 5 })).toThrow(/num_key_value_heads 5/);
    expect(() => phi3ConfigFromHF({ ...MINI_4K, model_type: "llama" })).toThrow(/model_type is 'llama'/);
    expect(() => phi3ConfigFromHF({ ...MINI_4K, hidden_act: "gelu" })).toThrow(/hidden_act 'gelu'/);
  });
});
