import type { Rng } from "@birdvlm/core";
import type { BoundingBox } from "./cub-dataset.js";

/** An integer pixel region `{ left, top, width, height }` inside an image (sharp's `extract` region). */
export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * A bounding box grown by `margin` times its width and height on each side, clipped to the `width` x `height`
 * image and rounded outward to whole pixels (at least 1x1).
 */
export function boxWithMargin(box: BoundingBox, margin: number, width: number, height: number): Region {
  const left = Math.max(0, Math.floor(box.x - margin * box.width));
  const top = Math.max(0, Math.floor(box.y - margin * box.height));
  const right = Math.min(width, Math.ceil(box.x + box.width + margin * box.width));
  const bottom = Math.min(height, Math.ceil(box.y + box.height + margin * box.height));
  if (right <= left || bottom <= top) {
    throw new Error(`bounding box ${JSON.stringify(box)} lies outside the ${width}x${height} image`);
  }
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * torchvision's `RandomResizedCrop.get_params` inside `region`: up to 10 tries at a crop whose area is a
 * uniform fraction in `scale` of the region's and whose aspect ratio is log-uniform in `ratio`; falls back to
 * the largest central crop with the ratio clamped to `ratio`.
 */
export function randomResizedCropRegion(
  region: Region,
  rng: Rng,
  scale: [number, number],
  ratio: [number, number],
): Region {
  const { width: W, height: H } = region;
  const area = W * H;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + rng.float() * (scale[1] - scale[0]));
    const aspect = Math.exp(logLo + rng.float() * (logHi - logLo));
    const w = Math.round(Math.sqrt(target * aspect));
    const h = Math.round(Math.sqrt(target / aspect));
    if (w > 0 && h > 0 && w <= W && h <= H) {
      return { left: region.left + rng.int(W - w + 1), top: region.top + rng.int(H - h + 1), width: w, height: h };
    }
  }
  const inRatio = W / H;
  let w = W;
  let h = H;
  if (inRatio < ratio[0]) h = Math.round(W / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(H * ratio[1]);
  return {
    left: region.left + Math.floor((W - w) / 2),
    top: region.top + Math.floor((H - h) / 2),
    width: w,
    height: h,
  };
}

/**
 * The region that "resize the shorter side to `size / cropPct`, then center-crop `size` x `size`" keeps,
 * in the coordinates of `region` (so resizing it to `size` x `size` gives the same picture in one step).
 */
export function centerCropRegion(region: Region, cropPct: number): Region {
  const side = Math.max(1, Math.round(Math.min(region.width, region.height) * cropPct));
  const w = Math.min(side, region.width);
  const h = Math.min(side, region.height);
  return {
    left: region.left + Math.floor((region.width - w) / 2),
    top: region.top + Math.floor((region.height - h) / 2),
    width: w,
    height: h,
  };
}
