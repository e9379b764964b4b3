import sharp from "sharp";
import { tf, type ImageBatch } from "@birdvlm/core";

/** An image as `ask` accepts it: a file path, encoded bytes (JPEG, PNG, …), or an already normalized `[B,H,W,3]` batch. */
export type ImageInput = string | Buffer | ImageBatch;

/** How images become an encoder's input: its square size and normalization. */
export interface ImagePreprocessing {
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * Decodes paths or bytes with sharp, resizes the shorter side and center-crops to `imageSize`, scales to [0,1]
 * and normalizes: `[N, S, S, 3]` float32. A tensor input is checked and returned as a clone.
 */
export async function toImageBatch(inputs: readonly ImageInput[], pre: ImagePreprocessing): Promise<ImageBatch> {
  if (inputs.length === 1 && inputs[0] instanceof tf.Tensor) return checkBatch(inputs[0] as ImageBatch, pre);
  const s = pre.imageSize;
  const data = new Float32Array(inputs.length * s * s * 3);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input instanceof tf.Tensor) throw new Error("toImageBatch: mix of tensors and files; pass one ImageBatch or only paths/Buffers");
    let raw: Buffer;
    try {
      raw = await sharp(input).removeAlpha().toColourspace("srgb").resize(s, s, { fit: "cover", position: "centre" }).raw().toBuffer();
    } catch (e) {
      const what = typeof input === "string" ? input : `image buffer ${i} (${input.length} bytes)`;
      throw new Error(`cannot decode ${what}: ${(e as Error).message}`);
    }
    const o = i * s * s * 3;
    for (let p = 0; p < s * s * 3; p++) {
      const c = p % 3;
      data[o + p] = (raw[p]! / 255 - pre.mean[c]!) / pre.std[c]!;
    }
  }
  return tf.tensor4d(data, [inputs.length, s, s, 3]);
}

function checkBatch(batch: ImageBatch, pre: ImagePreprocessing): ImageBatch {
  const [, h, w, c] = batch.shape;
  if (batch.rank !== 4 || h !== pre.imageSize || w !== pre.imageSize || c !== 3) {
    throw new Error(`image batch has shape [${batch.shape}], the encoder expects [B, ${pre.imageSize}, ${pre.imageSize}, 3] (normalized)`);
  }
  return tf.clone(batch);
}
