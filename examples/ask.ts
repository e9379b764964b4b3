// Asks a saved BirdVLM a question about an image, streaming the answer.
//
//   npx tsx examples/ask.ts --model out/demo/model <image.jpg> "What species is this bird?"
import "../scripts/tfjs-resolve-hook.js";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { model: { type: "string" }, help: { type: "boolean", short: "h" } },
  allowPositionals: true,
});
const usage = 'usage: npx tsx examples/ask.ts --model <birdvlm dir> <image> ["question"]';
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const [image, question = "What species is this bird?"] = positionals;
if (!values.model || !image) {
  console.error(usage);
  process.exit(2);
}
const { initBackend } = await import("@birdvlm/core");
const { BirdVLM } = await import("@birdvlm/vlm");
await initBackend();
const vlm = await BirdVLM.load(values.model);
process.stdout.write(`Q: ${question}\nA: `);
await vlm.ask(image, question, { maxNewTokens: 48, onToken: (piece) => process.stdout.write(piece) });
process.stdout.write("\n");
vlm.dispose();
