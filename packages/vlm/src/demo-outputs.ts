import { writeFile } from "node:fs/promises";
import { tf } from "@birdvlm/core";
import type { ImageSource } from "@birdvlm/data";
import { renderAttentionOverlay, type VisionTransformer } from "@birdvlm/vit";
import sharp from "sharp";
import type { EvalReport } from "./evaluate.js";
import type { ImageTable } from "./image-table.js";

/** The attention rollout of the encoder over one image (its box crop when `crop`), as a PNG overlay at `dest`. */
export async function writeOverlay(
  vit: VisionTransformer,
  source: ImageSource,
  crop: boolean,
  images: ImageTable,
  id: string,
  dest: string,
): Promise<void> {
  const one = images.gather([id]);
  const heat = tf.tidy(() => tf.squeeze(vit.attentionRollout(one), [0]) as tf.Tensor2D);
  const path = typeof source === "string" ? source : "path" in source ? source.path : undefined;
  if (!path) throw new Error("demo: the attention overlay needs an image file");
  let picture: string | Buffer = path;
  const box = typeof source === "object" && "bbox" in source ? source.bbox : undefined;
  if (crop && box) {
    const meta = await sharp(path).metadata();
    const left = Math.max(0, Math.floor(box.x)),
      top = Math.max(0, Math.floor(box.y));
    const width = Math.min((meta.width ?? 0) - left, Math.ceil(box.width)),
      height = Math.min((meta.height ?? 0) - top, Math.ceil(box.height));
    if (width > 0 && height > 0) picture = await sharp(path).extract({ left, top, width, height }).png().toBuffer();
  }
  await writeFile(dest, await renderAttentionOverlay(picture, heat));
  heat.dispose();
  one.dispose();
}

/** A few varied held-out questions for the demo's printout: species questions about different species, then attribute questions. */
export function pickQuestions(report: EvalReport): Array<{ question: string; answer: string; expected: string }> {
  const species = new Map<string, EvalReport["samples"][number]>();
  const attributes = new Map<string, EvalReport["samples"][number]>();
  for (const s of report.samples) {
    if (s.question === report.samples[0]?.question) {
      if (!species.has(s.expected)) species.set(s.expected, s);
    } else if (!attributes.has(s.question)) attributes.set(s.question, s);
  }
  return [...[...species.values()].slice(0, 3), ...[...attributes.values()].slice(0, 4)].map((s) => ({
    question: s.question,
    answer: s.answer,
    expected: s.expected,
  }));
}
