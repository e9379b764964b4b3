/**
 * Batch-level augmentation for training a ViT on small data, after timm's `Mixup` and `RandomErasing`:
 * mixup / cutmix (each image blended with the batch's reversed order, targets mixed in the same proportion)
 * and random erasing (a random rectangle of an image replaced by per-pixel normal noise). The random choices
 * come from a core `Rng`, so a resumed run replays them.
 */
import { type Rng, tf } from "@birdvlm/core";

/** Options of {@link mixBatch}; timm's `Mixup` knobs. */
export interface MixOptions {
  /** Beta(α, α) of mixup; 0 turns mixup off. */
  mixupAlpha: number;
  /** Beta(α, α) of cutmix; 0 turns cutmix off. */
  cutmixAlpha: number;
  /** Probability that a batch is mixed at all. Default 1. */
  probability?: number;
  /** When both are on: probability of cutmix rather than mixup. Default 0.5. */
  switchProbability?: number;
}

/** A mixed batch: images `[B, H, W, C]` and soft targets `[B, classes]` (rows sum to 1). */
export interface MixedBatch {
  images: tf.Tensor4D;
  targets: tf.Tensor2D;
  /** The weight of each image's own label (1 when the batch was left as it was). */
  lambda: number;
}

/** A Gamma(a, 1) draw (Marsaglia and Tsang; boosted for a < 1). */
function gamma(a: number, rng: Rng): number {
  if (a < 1) return gamma(a + 1, rng) * Math.pow(rng.float() || Number.MIN_VALUE, 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.float();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, a) draw. */
export function sampleBeta(a: number, rng: Rng): number {
  const x = gamma(a, rng);
  const y = gamma(a, rng);
  return x / (x + y);
}

/**
 * Mixup or cutmix of a batch with itself reversed (timm's `mode='batch'`, `flip` pairing): mixup blends whole
 * images `λ·x + (1−λ)·x_rev`; cutmix pastes a box of area `1−λ` from `x_rev` (λ then set to the exact area
 * kept). Targets: label-smoothed one-hots `(1−ε+ε/C)` / `ε/C`, mixed with the same λ.
 *
 * @param images `[B, H, W, C]`.
 * @param labels `[B]` int32 class indices.
 */
export function mixBatch(
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  numClasses: number,
  labelSmoothing: number,
  options: MixOptions,
  rng: Rng,
): MixedBatch {
  const off = labelSmoothing / numClasses;
  const on = 1 - labelSmoothing + off;
  const useMixup = options.mixupAlpha > 0;
  const useCutmix = options.cutmixAlpha > 0;
  const apply = (useMixup || useCutmix) && rng.float() < (options.probability ?? 1);
  const cutmix = apply && useCutmix && (!useMixup || rng.float() < (options.switchProbability ?? 0.5));
  let lambda = 1;
  if (apply) lambda = sampleBeta(cutmix ? options.cutmixAlpha : options.mixupAlpha, rng);
  return tf.tidy(() => {
    const y = tf.add(tf.mul(tf.cast(tf.oneHot(labels, numClasses), "float32"), on - off), off) as tf.Tensor2D;
    if (!apply) return { images: tf.clone(images), targets: y, lambda: 1 };
    const [, H, W] = images.shape;
    const rev = reverseBatch(images);
    let mixed: tf.Tensor4D;
    if (cutmix) {
      const cut = Math.sqrt(1 - lambda);
      const ch = Math.round(H * cut);
      const cw = Math.round(W * cut);
      const cy = rng.int(H);
      const cx = rng.int(W);
      const y0 = Math.max(0, cy - (ch >> 1));
      const y1 = Math.min(H, cy + (ch >> 1));
      const x0 = Math.max(0, cx - (cw >> 1));
      const x1 = Math.min(W, cx + (cw >> 1));
      const mask = new Float32Array(H * W);
      for (let r = y0; r < y1; r++) mask.fill(1, r * W + x0, r * W + x1);
      lambda = 1 - ((y1 - y0) * (x1 - x0)) / (H * W);
      const m = tf.tensor4d(mask, [1, H, W, 1]);
      mixed = tf.add(tf.mul(images, tf.sub(1, m)), tf.mul(rev, m));
    } else mixed = tf.add(tf.mul(images, lambda), tf.mul(rev, 1 - lambda));
    const targets = tf.add(tf.mul(y, lambda), tf.mul(reverseBatch(y), 1 - lambda)) as tf.Tensor2D;
    return { images: mixed, targets, lambda };
  });
}

/**
 * `x` with its first axis reversed (timm's `x.flip(0)`), as one slice per item and one concat: the cpu backend's
 * Reverse walks every element in JavaScript (about 0.3 s for a batch of 32 images of 64 px, as long as the step).
 */
function reverseBatch<T extends tf.Tensor>(x: T): T {
  const n = x.shape[0]!;
  return tf.concat(
    Array.from({ length: n }, (_, i) => tf.slice(x, [n - 1 - i], [1])),
    0,
  ) as T;
}

/** Options of {@link randomErasing}; timm's `RandomErasing` knobs (`mode='pixel'`). */
export interface RandomErasingOptions {
  /** Probability that an image gets a rectangle erased. */
  probability: number;
  /** Area of the rectangle as a fraction of the image. Default `[0.02, 1/3]`. */
  area?: [number, number];
  /** Aspect ratio range (log-uniform). Default `[0.3, 3.3]`. */
  ratio?: [number, number];
}

/**
 * Replaces, in each image with probability `p`, a random rectangle by standard normal noise (the normalized
 * images' scale), as timm's `RandomErasing(mode='pixel')`; returns a new tensor `[B, H, W, C]`.
 */
export function randomErasing(images: tf.Tensor4D, options: RandomErasingOptions, rng: Rng): tf.Tensor4D {
  const [B, H, W, C] = images.shape;
  const [aLo, aHi] = options.area ?? [0.02, 1 / 3];
  const [rLo, rHi] = options.ratio ?? [0.3, 3.3];
  const keep = new Float32Array(B * H * W).fill(1);
  let any = false;
  for (let b = 0; b < B; b++) {
    if (rng.float() >= options.probability) continue;
    for (let attempt = 0; attempt < 10; attempt++) {
      const area = H * W * (aLo + rng.float() * (aHi - aLo));
      const aspect = Math.exp(Math.log(rLo) + rng.float() * (Math.log(rHi) - Math.log(rLo)));
      const h = Math.round(Math.sqrt(area * aspect));
      const w = Math.round(Math.sqrt(area / aspect));
      if (h < 1 || w < 1 || h >= H || w >= W) continue;
      const top = rng.int(H - h + 1);
      const left = rng.int(W - w + 1);
      for (let r = top; r < top + h; r++) keep.fill(0, (b * H + r) * W + left, (b * H + r) * W + left + w);
      any = true;
      break;
    }
  }
  if (!any) return tf.clone(images);
  const seed = rng.seed();
  return tf.tidy(() => {
    const k = tf.tensor4d(keep, [B, H, W, 1]);
    const noise = tf.randomNormal([B, H, W, C], 0, 1, "float32", seed);
    return tf.add(tf.mul(images, k), tf.mul(noise, tf.sub(1, k))) as tf.Tensor4D;
  });
}

/**
 * Cross-entropy against soft targets, `mean_b −Σ_c t[b,c]·log_softmax(logits)[b,c]` (timm's
 * `SoftTargetCrossEntropy`). `logits` and `targets` are `[B, classes]`; returns a scalar.
 */
export function softTargetCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}
