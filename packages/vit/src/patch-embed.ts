import { Linear, Module, tf, type ParameterInit } from "@birdvlm/core";

// Reference: timm `timm/layers/patch_embed.py` `PatchEmbed`.
/**
 * Patch embedding as one matmul (the same numbers as timm's stride-`p` convolution `patch_embed.proj`):
 * `[B, H, W, C]` is cut into `p x p` patches, each flattened in PyTorch's `(C, p, p)` order, times
 * `proj.weight` kept `[C*p*p, D]` (reference layout `[D, C, p, p]`, converted at load and save).
 */
export class PatchEmbed extends Module {
  readonly proj: Linear;

  constructor(
    readonly patchSize: number,
    readonly numChannels: number,
    readonly dim: number,
    init: ParameterInit,
  ) {
    super();
    this.proj = this.registerModule("proj", new Linear(numChannels * patchSize * patchSize, dim, init));
  }

  /** `[B, H, W, C]` → `[B, (H/p)*(W/p), D]`, row-major over the patch grid. */
  forward(images: tf.Tensor4D): tf.Tensor3D {
    const [b, gh, gw] = patchGrid("PatchEmbed", images, this.numChannels, this.patchSize);
    // The patches are data: under a tape their gradient (a product as large as the forward's) is not computed.
    const rows = patchRows(images, this.patchSize);
    return tf.reshape(this.proj.forward(rows, { dataInput: true }), [b, gh * gw, this.dim]) as tf.Tensor3D;
  }

  /** In a state dict (names under `prefix`): `proj.weight` `[D, C*p*p]` → the reference `[D, C, p, p]`, in place. */
  weightsToReference(dict: Record<string, tf.Tensor>, prefix: string): void {
    projToReference(dict, prefix, this.patchSize);
  }

  /** The 2-D `proj.weight` from a reference `[D, C, p, p]` (absent or not 4-D: nothing, the load names it). */
  weightsFromReference(tensors: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
    return projFromReference(tensors, prefix);
  }
}

/**
 * `[B, gh, gw]` of `images` `[B, H, W, C]` cut into `p x p` patches; throws naming `who` when the channels are not
 * `channels` or H and W are not multiples of `p`.
 */
export function patchGrid(who: string, images: tf.Tensor4D, channels: number, p: number): [number, number, number] {
  const [b, hgt, wid, c] = images.shape;
  if (c !== channels) throw new Error(`${who}: images have ${c} channels, the model expects ${channels}`);
  if (hgt % p !== 0 || wid % p !== 0)
    throw new Error(`${who}: image size ${hgt}x${wid} is not a multiple of the patch size ${p}`);
  return [b, hgt / p, wid / p];
}

/** `[B, H, W, C]` → `[B*(H/p)*(W/p), C*p*p]`: one row per patch, row-major over the grid, in PyTorch's `(C, p, p)` order. */
export function patchRows(images: tf.Tensor4D, p: number): tf.Tensor2D {
  const [b, hgt, wid, c] = images.shape;
  const gh = hgt / p;
  const gw = wid / p;
  return tf.reshape(tf.transpose(tf.reshape(images, [b, gh, p, gw, p, c]), [0, 1, 3, 5, 2, 4]), [
    b * gh * gw,
    c * p * p,
  ]) as tf.Tensor2D;
}

/** In a state dict: `${prefix}proj.weight` `[D, C*p*p]` → the reference `[D, C, p, p]`, in place (the old freed). */
export function projToReference(dict: Record<string, tf.Tensor>, prefix: string, patchSize: number): void {
  const w = dict[`${prefix}proj.weight`]!;
  dict[`${prefix}proj.weight`] = patchWeightToReference(w, patchSize);
  w.dispose();
}

/** `{ ${prefix}proj.weight: [D, C*p*p] }` from a reference `[D, C, p, p]`; `{}` when absent or not 4-D. */
export function projFromReference(tensors: Record<string, tf.Tensor>, prefix: string): Record<string, tf.Tensor> {
  const w = tensors[`${prefix}proj.weight`];
  return w && w.rank === 4 ? { [`${prefix}proj.weight`]: patchWeightFromReference(w) } : {};
}

/** Reference `[D, C, p, p]` → the 2-D `[D, C*p*p]` that the transposed `proj.weight` variable takes. */
export function patchWeightFromReference(t: tf.Tensor): tf.Tensor {
  if (t.rank !== 4) throw new Error(`patch_embed.proj.weight: expected [D, C, p, p], got [${t.shape}]`);
  return tf.reshape(t, [t.shape[0]!, -1]);
}

/** `[D, C*p*p]` → the reference `[D, C, p, p]`. */
export function patchWeightToReference(t: tf.Tensor, patchSize: number): tf.Tensor {
  return tf.reshape(t, [t.shape[0]!, -1, patchSize, patchSize]);
}
