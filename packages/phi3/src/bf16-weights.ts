import { Linear, type Module, type WeightDtype } from "@birdvlm/core";
import { Embedding } from "./embedding.js";

/** Weight dtypes a Phi-3 model can hold its linear layers in: float32 (trainable) or bfloat16 (inference only). */
export type Phi3WeightDtype = WeightDtype;

/** Every {@link Linear} under `root` with its weight's parameter name (`model.layers.0.mlp.down_proj.weight`). */
export function linearLayers(root: Module, prefix = ""): Array<[string, Linear]> {
  return bf16Layers(root, prefix).filter((e): e is [string, Linear] => e[1] instanceof Linear);
}

/**
 * Every layer under `root` that can hold bf16 weights ({@link Linear}, kept `[in, out]` from PyTorch's
 * `[out, in]`; {@link Embedding}, `[vocab, D]` as stored), with its weight's parameter name.
 */
export function bf16Layers(root: Module, prefix = ""): Array<[string, Linear | Embedding]> {
  const out: Array<[string, Linear | Embedding]> = [];
  for (const [name, child] of root.namedChildren()) {
    if (child instanceof Linear || child instanceof Embedding) out.push([`${prefix}${name}.weight`, child]);
    else out.push(...bf16Layers(child, `${prefix}${name}.`));
  }
  return out;
}
