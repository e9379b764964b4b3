// Embeds the bird encoder in a small app: image → species top-5 (from the ViT's classifier head) and its embedding
// (the pooled feature vector), with nothing of the language model loaded.
//
//   npx tsx examples/embed-encoder-app.ts --vit runs/vit --cub <root with classes.txt> <image.jpg>
//   (or --vit out/demo/model/encoder when the ViT kept its head)
import "../scripts/tfjs-resolve-hook.js";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { vit: { type: "string" }, cub: { type: "string" }, help: { type: "boolean", short: "h" } },
  allowPositionals: true,
});
const [image] = positionals;
const usage = "usage: npx tsx examples/embed-encoder-app.ts --vit <vit dir> --cub <CUB-layout root> <image>";
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!values.vit || !values.cub || !image) {
  console.error(usage);
  process.exit(2);
}
const { initBackend, tf } = await import("@birdvlm/core");
const { CubDataset } = await import("@birdvlm/data");
const { VisionTransformer } = await import("@birdvlm/vit");
const { toImageBatch } = await import("@birdvlm/vlm");

await initBackend();
const vit = await VisionTransformer.load(values.vit);
if (!vit.config.numClasses)
  throw new Error(`${values.vit}: this ViT has no classifier head; train one with 'birdvlm train-vit'`);
const classes = (await CubDataset.open(values.cub)).classes;
const batch = await toImageBatch([image], vit);
const { probs, embedding } = tf.tidy(() => ({
  probs: tf.softmax(vit.classify(batch)),
  embedding: tf.mean(vit.encode(batch).patches, 1),
}));
const p = Array.from(await probs.data());
const top5 = p
  .map((v, i) => [v, i] as const)
  .sort((a, b) => b[0] - a[0])
  .slice(0, 5);
for (const [v, i] of top5) console.log(`${(v * 100).toFixed(1).padStart(5)}%  ${classes[i]?.label ?? `class ${i}`}`);
const e = Array.from(await embedding.data());
console.log(
  `embedding: ${e.length} floats, first 6 [${e
    .slice(0, 6)
    .map((x) => x.toFixed(3))
    .join(", ")}]`,
);
tf.dispose([batch, probs, embedding]);
vit.dispose();
