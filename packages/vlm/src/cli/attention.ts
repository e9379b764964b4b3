import { mkdir, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { tf } from "@birdvlm/core";
import { VisionTransformer, renderAttentionOverlay } from "@birdvlm/vit";
import { BirdVLM } from "../birdvlm.js";
import { defineCommand } from "./command.js";

/** `birdvlm attention`: the encoder's attention rollout over an image, drawn as a PNG. */
export const attentionCommand = defineCommand({
  name: "attention",
  summary: "write the encoder's attention overlay of an image as a PNG",
  synopsis: "--model <dir> <image> --out <png>",
  flags: {
    model: { type: "string", value: "<dir>", required: true, help: "a BirdVLM folder" },
    out: { type: "string", value: "<png>", required: true, help: "the PNG to write" },
  },
  checkPositionals: (p) => (p.length < 1 ? "give an image path" : undefined),
  async run(f, [image], { log }) {
    const vlm = await BirdVLM.load(f.model);
    if (!(vlm.encoder instanceof VisionTransformer))
      throw new Error("attention: the encoder is not a VisionTransformer");
    const vit = vlm.encoder;
    const batch = await vlm.loadImages([image!]);
    const heat = tf.tidy(() => tf.squeeze(vit.attentionRollout(batch), [0]) as tf.Tensor2D);
    await mkdir(resolve(f.out, ".."), { recursive: true });
    await writeFile(f.out, await renderAttentionOverlay(image!, heat));
    log(`attention: wrote ${f.out}`);
    return 0;
  },
});
