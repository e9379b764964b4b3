import { BirdVLM } from "../birdvlm.js";
import { parseBoundingBox, toImageBatch } from "../image-input.js";
import { defineCommand } from "./command.js";

/** `birdvlm ask`: answers a question about an image, streaming the answer. */
export const askCommand = defineCommand({
  name: "ask",
  summary: "answer a question about an image",
  synopsis: '--model <dir> <image> "<question>" [options]',
  description: `--box crops the image to the bird first, as models trained on box crops alone (demo --box-only) expect.
--bf16 keeps the language model's linear weights as bfloat16 (half the memory and bytes per token; exact for BF16 checkpoints).`,
  flags: {
    model: { type: "string", value: "<dir>", required: true, help: "a BirdVLM folder" },
    box: { type: "string", value: "<x,y,width,height>", parse: parseBoundingBox, help: "the bird's box in pixels" },
    "max-new-tokens": { type: "integer", min: 1, default: 64, help: "longest answer in tokens" },
    bf16: { type: "boolean", help: "the LM's linear weights as bfloat16" },
  },
  quiet: true,
  checkPositionals: (p, f) =>
    p.length < 2
      ? `give an image and a question, e.g. birdvlm ask --model ${f.model} bird.jpg "What species is this bird?"`
      : undefined,
  async run(f, [image, question], { log, write }) {
    const vlm = await BirdVLM.load(f.model, { lmWeightDtype: f.bf16 ? "bfloat16" : "float32" });
    if (vlm.cropToBox && !f.box)
      log(`ask: ${f.model} learned from birds cropped to their boxes; --box x,y,width,height gives it the same view`);
    const batch = await toImageBatch([f.box ? { path: image!, bbox: f.box } : image!], vlm.encoder, {
      cropToBox: !!f.box,
    });
    try {
      await vlm.ask(batch, question!, { maxNewTokens: f["max-new-tokens"], onToken: (t) => write(t) });
    } finally {
      batch.dispose();
    }
    write("\n");
    return 0;
  },
});
