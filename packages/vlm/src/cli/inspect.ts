import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BirdVLM } from "../birdvlm.js";
import { defineCommand } from "./command.js";

/** `birdvlm inspect`: a saved model's parts, sizes and provenance. */
export const inspectCommand = defineCommand({
  name: "inspect",
  summary: "print a model's parts, sizes and provenance",
  synopsis: "--model <dir>",
  flags: {
    model: { type: "string", value: "<dir>", required: true, help: "a BirdVLM folder" },
  },
  quiet: true,
  async run(f, _positionals, { log, backend }) {
    const config = JSON.parse(await readFile(join(f.model, "config.json"), "utf8"));
    const vlm = await BirdVLM.load(f.model);
    const count = (n: number) => n.toLocaleString("en-US");
    log(`BirdVLM at ${resolve(f.model)} (backend ${backend.name})`);
    log(
      `  encoder:   ${count(vlm.encoder.parameterCount())} weights, ${vlm.encoder.imageSize} px, width ${vlm.encoder.hiddenSize}`,
    );
    log(
      `  projector: ${count(vlm.connector.parameterCount())} weights, ${vlm.connector.inputDim} → ${vlm.connector.outputDim}, ${vlm.imageTokens} image tokens`,
    );
    log(
      `  lm:        ${count(vlm.lm.parameterCount())} weights, hidden ${vlm.lm.hiddenSize}, vocabulary ${vlm.lm.vocabSize}${"reference" in config.lm ? ` (reference to ${config.lm.reference}, sha256 ${config.lm.sha256.slice(0, 12)}…)` : ""}`,
    );
    log(`  tokenizer: ${vlm.tokenizer.vocabSize} tokens, image marker ${vlm.marker.token} (id ${vlm.marker.id})`);
    log("  provenance:");
    for (const [part, records] of Object.entries(vlm.provenance.parts)) {
      for (const r of records ?? [])
        log(`    ${part.padEnd(9)} ${r.stage.padEnd(9)} ${r.imageIds.length} images of ${r.dataset} (${r.date})`);
    }
    if (!Object.keys(vlm.provenance.parts).length) log("    (no training recorded)");
    return 0;
  },
});
