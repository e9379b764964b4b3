import { gelu as coreGelu, tf } from "@birdvlm/core";

/**
 * Exact GELU, `x * Φ(x) = 0.5 x (1 + erf(x / √2))` (PyTorch `nn.GELU()`, HF `gelu`); differentiable. Any shape.
 * Core's fused op: one kernel where the backend has it, and a gradient that saves only its input.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return coreGelu(x);
}
