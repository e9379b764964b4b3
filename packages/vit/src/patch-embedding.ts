import type { ParameterInit } from "@birdvlm/core";
import type { ViTConfig } from "./config.js";
import { ConvStemPatchEmbed } from "./conv-stem-patch-embed.js";
import { HierarchicalPatchEmbed } from "./hierarchical-patch-embed.js";
import { PatchEmbed } from "./patch-embed.js";
import { ShiftedPatchEmbed } from "./shifted-patch-embed.js";

/** The four forms of a ViT's patch embedding (`patch_embed`). */
export type AnyPatchEmbed = PatchEmbed | HierarchicalPatchEmbed | ConvStemPatchEmbed | ShiftedPatchEmbed;

/**
 * The patch embedding a config asks for: a convolutional stem (`stemWidths` with `stemKernel` 3), the hMLP stem
 * (`stemWidths`), shifted patches (`shiftedPatches`), or the plain stride-`p` convolution.
 */
export function createPatchEmbed(c: ViTConfig, init: ParameterInit): AnyPatchEmbed {
  const { patchSize: p, numChannels: channels, hiddenSize: dim, layerNormEps: eps } = c;
  if (c.stemWidths.length && c.stemKernel === 3)
    return new ConvStemPatchEmbed(p, channels, c.stemWidths, dim, eps, init);
  if (c.stemWidths.length) return new HierarchicalPatchEmbed(p, channels, c.stemWidths, dim, eps, init);
  if (c.shiftedPatches) return new ShiftedPatchEmbed(p, channels, dim, eps, init);
  return new PatchEmbed(p, channels, dim, init);
}
