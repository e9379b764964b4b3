import type { Module } from "@birdvlm/core";
import { Linear } from "./linear.js";

/** Weight dtypes a Phi-3 model can hold its linear layers in: float32 (trainable) or bfloat16 (inference only). */
export type Phi3WeightDtype = "float32" | "bfloat16";

/** Every {@link Linear} under `root` with its weight's parameter name (`model.layers.0.mlp.down_proj.weight`). */
export function linearLayers(root: Module, prefix = ""): Array<[string, Linear]> {
  const out: Array<[string, Linear]> = [];
  for (const [name, child] of root.namedChildren()) {
    if (child instanceof Linear) out.push([`${prefix}${name}.weight`, child]);
    else out.push(...linearLayers(child, `${prefix}${name}.`));
  }
  return out;
}
