// Stage 1 (align): a new MLP projector learns to map a ViT's features into a Phi-3's embedding space from
// image-caption records in the LLaVA format (e.g. LLaVA-CC3M-595K's chat.json, images beside it). The encoder and
// the language model stay frozen, so the saved BirdVLM refers to the LM folder with a checksum instead of copying it.
//
//   npx tsx examples/align-llava.ts --encoder runs/vit --lm <phi3 dir> --json chat.json --images <folder> --out runs/aligned
//       [--tokenizer <dir>] [--limit 2000] [--epochs 1] [--tokens 7]
import "../scripts/tfjs-resolve-hook.js";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    encoder: { type: "string" },
    lm: { type: "string" },
    tokenizer: { type: "string" },
    json: { type: "string" },
    images: { type: "string" },
    out: { type: "string" },
    limit: { type: "string" },
    epochs: { type: "string" },
    tokens: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
const usage =
  "usage: npx tsx examples/align-llava.ts --encoder <vit dir> --lm <phi3 dir> --json <llava json> --images <folder> --out <dir>\n" +
  "       [--tokenizer <dir>] [--limit 2000] [--epochs 1] [--tokens 7]";
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (!values.encoder || !values.lm || !values.json || !values.images || !values.out) {
  console.error(usage);
  process.exit(2);
}
const { initBackend } = await import("@birdvlm/core");
const { readLlavaConversations, resolveListedPath } = await import("@birdvlm/data");
const { VisionTransformer } = await import("@birdvlm/vit");
const { MlpProjector } = await import("@birdvlm/projector");
const { Phi3ForCausalLM, Phi3Tokenizer } = await import("@birdvlm/phi3");
const { BirdVLM, ImageTable, checksumWeights, fingerprintFiles, readProvenanceFile, toExample, trainStage } =
  await import("@birdvlm/vlm");

console.log(`backend: ${(await initBackend()).name}`);
const encoder = await VisionTransformer.load(values.encoder);
const lm = await Phi3ForCausalLM.load(values.lm);
const tokenizer = await Phi3Tokenizer.load(values.tokenizer ?? values.lm);
const g = Number(values.tokens ?? 7);
const connector = new MlpProjector({
  inputDim: encoder.hiddenSize,
  outputDim: lm.hiddenSize,
  pooling: { mode: "avg", outputGrid: [g, g] },
});
const vlm = BirdVLM.create({ encoder, connector, lm, tokenizer });
vlm.lmSource = { dir: resolve(values.lm), sha256: await checksumWeights(values.lm) };
// keep the encoder's training records (written beside it by `birdvlm train-vit` and `vlm.save`); a corrupt file is an error
vlm.provenance = await readProvenanceFile(join(values.encoder, "provenance.json"));

const limit = Number(values.limit ?? 2000);
const examples = [];
const paths: string[] = [];
for await (const record of readLlavaConversations(values.json)) {
  if (!record.image) continue;
  examples.push(
    toExample({ ...record, image: record.image, meta: { imageId: record.id, classId: 0, split: "train", pairs: [] } }),
  );
  paths.push(resolveListedPath(values.images, record.image, values.json)); // checked to stay inside --images
  if (examples.length >= limit) break;
}
console.log(`align: ${examples.length} image-caption records from ${values.json}`);
const images = await ImageTable.fromFiles(
  examples.map((e) => e.imageId),
  paths,
  encoder,
);
await trainStage(vlm, {
  stage: "align",
  examples,
  images,
  dataset: await fingerprintFiles([values.json]),
  epochs: Number(values.epochs ?? 1),
  batchSize: 8,
  checkpointDir: join(values.out, "checkpoints"),
  metricsFile: join(values.out, "metrics.jsonl"),
  curvesFile: join(values.out, "curves.png"),
  progress: true,
  log: console.log,
});
await vlm.save(join(values.out, "model"));
console.log(`align: saved ${join(values.out, "model")} (the LM is referenced, not copied)`);
