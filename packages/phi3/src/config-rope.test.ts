import { describe, expect, it } from "vitest";
import { phi3ConfigFromHF } from "./config.js";

const base = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 256,
  original_max_position_embeddings: 128,
};
const factors = (v: number) => Array.from({ length: 8 }, () => v);

describe("rope_scaling from a stranger's config.json is refused unless transformers would read it", () => {
  it("a string or an object without a type is an error naming the file, never 'no scaling'", () => {
    expect(() => phi3ConfigFromHF({ ...base, rope_scaling: "yarn" }, "lm/config.json")).toThrow(
      /lm\/config\.json: rope_scaling must be an object with a 'type', got "yarn"/,
    );
    expect(() => phi3ConfigFromHF({ ...base, rope_scaling: { factor: 8 } }, "lm/config.json")).toThrow(
      /lm\/config\.json: rope_scaling \{"factor":8\} names no 'type'/,
    );
    expect(() => phi3ConfigFromHF({ ...base, rope_scaling: [1, 2] })).toThrow(/must be an object/);
    expect(() => phi3ConfigFromHF({ ...base, rope_scaling: { type: 3 } })).toThrow(/type must be a string/);
    expect(() => phi3ConfigFromHF({ ...base, rope_scaling: { type: "yarn", factor: 8 } })).toThrow(
      /unknown rope type 'yarn'/,
    );
  });

  it("still reads null, default and longrope", () => {
    expect(phi3ConfigFromHF({ ...base, rope_scaling: null }).ropeScaling).toBeNull();
    expect(phi3ConfigFromHF({ ...base, rope_scaling: { rope_type: "default" } }).ropeScaling).toBeNull();
    expect(phi3ConfigFromHF({ ...base, rope_parameters: { rope_theta: 1e4 } }).ropeScaling).toBeNull();
    const long = phi3ConfigFromHF({
      ...base,
      rope_scaling: { type: "longrope", short_factor: factors(1), long_factor: factors(2) },
    });
    expect(long.ropeScaling?.longFactor).toEqual(factors(2));
  });
});
