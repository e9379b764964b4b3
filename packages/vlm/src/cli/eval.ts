import { BirdVLM } from "../birdvlm.js";
import { loadBirdTasks } from "../bird-tasks.js";
import { evaluate } from "../evaluate.js";
import { formatEvalSummary } from "../report-summary.js";
import { defineCommand } from "./command.js";
import { decodeForModel } from "./decode.js";

/** `birdvlm eval`: species and attribute accuracy on a split; refuses images any part was trained on. */
export const evalCommand = defineCommand({
  name: "eval",
  summary: "score a model on a split (species, top-1/top-5, attributes); refuses training images",
  synopsis: "--model <dir> --data <root> [options]",
  description: "--bf16 keeps the language model's linear weights as bfloat16 (as ask --bf16).",
  flags: {
    model: { type: "string", value: "<dir>", required: true, help: "a BirdVLM folder" },
    data: { type: "string", value: "<root>", required: true, help: "a CUB-layout folder" },
    split: {
      type: "string",
      value: "<name>",
      default: "test",
      choices: ["test", "train"],
      help: "the split scored (train: images a part trained on need --allow-overlap)",
    },
    "allow-overlap": { type: "boolean", help: "score images a part was trained on (with a notice)" },
    out: { type: "string", value: "<dir>", help: "write report.json and the confusion picture here" },
    classes: { type: "integer", min: 1, help: "keep only the first N species" },
    bf16: { type: "boolean", help: "the LM's linear weights as bfloat16" },
  },
  async run(f, _positionals, { log }) {
    const vlm = await BirdVLM.load(f.model, { lmWeightDtype: f.bf16 ? "bfloat16" : "float32" });
    const tasks = await loadBirdTasks(f.data, { classes: f.classes });
    const [items, ids] = f.split === "train" ? [tasks.trainItems, tasks.trainIds] : [tasks.testItems, tasks.testIds];
    if (!items.length)
      throw new Error(
        `eval: ${f.data} has no ${f.split} images (train_test_split.txt marks none with ${f.split === "train" ? 1 : 0})`,
      );
    const images = await decodeForModel(vlm, ids, tasks.sources, log);
    const r = await evaluate(
      vlm,
      {
        dataset: tasks.fingerprint,
        items,
        images,
        speciesNames: tasks.speciesNames,
        trainingAnswers: tasks.trainingAnswers,
      },
      { split: f.split, allowOverlap: f["allow-overlap"], outDir: f.out, log },
    );
    if (r.notice) log(r.notice);
    for (const line of formatEvalSummary(r)) log(line);
    log(`species accuracy: ${(r.speciesAccuracy * 100).toFixed(1)}%`);
    if (r.top1 !== undefined)
      log(`species top-1 / top-5: ${(r.top1 * 100).toFixed(1)}% / ${(r.top5! * 100).toFixed(1)}%`);
    log(
      `attribute accuracy: ${r.attributeAccuracy === undefined ? "n/a (no attribute questions)" : `${(r.attributeAccuracy * 100).toFixed(1)}%`}`,
    );
    return 0;
  },
});
