import { tf, type ImageBatch } from "@birdvlm/core";
import { ImagePipeline, type BoundingBox, type ImageSource } from "@birdvlm/data";

/** An image as `ask` accepts it: a file path, encoded bytes (JPEG, PNG, …), or an already normalized `[B,H,W,3]` batch. */
export type ImageInput = string | Buffer | ImageBatch;

/** How images become an encoder's input: its square size and normalization. */
export interface ImagePreprocessing {
  imageSize: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** The fraction of the shorter side the center crop keeps (timm's `crop_pct`). Default 1: the whole square. */
  cropPct?: number;
}

/**
 * The evaluation pipeline of `@birdvlm/data` for an encoder: center-crop `cropPct` of the shorter side (the
 * encoder's; default 1, the whole square), resize, normalize; `cropToBox` first crops to the source's bounding
 * box when it has one.
 */
export function evalPipeline(pre: ImagePreprocessing, options: { cropToBox?: boolean } = {}): ImagePipeline {
  return new ImagePipeline({
    size: pre.imageSize,
    mean: [...pre.mean],
    std: [...pre.std],
    mode: "eval",
    cropPct: pre.cropPct ?? 1,
    cropToBox: options.cropToBox ?? false,
  });
}

/**
 * Decodes sources (paths, `{ path, bbox }`, or bytes) into a normalized `[N, S, S, 3]` float32 batch with
 * `evalPipeline`. A tensor input is checked and returned as a clone.
 */
export async function toImageBatch(
  inputs: readonly (ImageInput | ImageSource)[],
  pre: ImagePreprocessing,
  options: { cropToBox?: boolean } = {},
): Promise<ImageBatch> {
  if (inputs.length === 1 && inputs[0] instanceof tf.Tensor) return checkBatch(inputs[0] as ImageBatch, pre);
  const pipeline = evalPipeline(pre, options);
  const data = new Float32Array(inputs.length * pipeline.imageLength);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    if (input instanceof tf.Tensor)
      throw new Error("toImageBatch: mix of tensors and files; pass one ImageBatch or only paths/Buffers");
    const source: ImageSource = Buffer.isBuffer(input)
      ? { data: input, name: `image buffer ${i}` }
      : (input as ImageSource);
    await pipeline.loadInto(source, data, i * pipeline.imageLength);
  }
  return tf.tensor4d(data, [inputs.length, pre.imageSize, pre.imageSize, 3]);
}

function checkBatch(batch: ImageBatch, pre: ImagePreprocessing): ImageBatch {
  const [, h, w, c] = batch.shape;
  if (batch.rank !== 4 || h !== pre.imageSize || w !== pre.imageSize || c !== 3) {
    throw new Error(
      `image batch has shape [${batch.shape}], the encoder expects [B, ${pre.imageSize}, ${pre.imageSize}, 3] (normalized)`,
    );
  }
  return tf.clone(batch);
}

/**
 * Parses a bounding box written `x,y,width,height` (pixels, CUB's `bounding_boxes.txt` order), e.g. from the
 * command line. Errors say what was expected.
 */
export function parseBoundingBox(text: string): BoundingBox {
  const parts = text.split(",").map((p) => Number(p.trim()));
  const [x, y, width, height] = parts;
  if (
    parts.length !== 4 ||
    parts.some((n) => !Number.isFinite(n)) ||
    x! < 0 ||
    y! < 0 ||
    !(width! > 0) ||
    !(height! > 0)
  ) {
    throw new Error(`bounding box: expected x,y,width,height in pixels (x, y ≥ 0; width, height > 0), got '${text}'`);
  }
  return { x: x!, y: y!, width: width!, height: height! };
}
