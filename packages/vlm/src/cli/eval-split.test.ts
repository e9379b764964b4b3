import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSynthBirds } from "@birdvlm/data";
import { buildWordLevelTokenizer } from "@birdvlm/phi3";
import { loadBirdTasks } from "../bird-tasks.js";
import { recordTraining } from "../provenance.js";
import { tinyVlm } from "../testing/tiny-parts.js";
import { runCli, type CliIO } from "./main.js";

/** Runs the CLI, collecting what it prints. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { log: (l) => out.push(l), write: (t) => out.push(t), error: (l) => err.push(l) };
  const code = await runCli(argv, io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("birdvlm eval --split", () => {
  let dir: string;
  let data: string;
  let model: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "birdvlm-eval-split-"));
    data = join(dir, "synth");
    await generateSynthBirds(data, { species: 3, imagesPerSpecies: 4, imageSize: 32, testFraction: 0.25 });
    const tasks = await loadBirdTasks(data);
    const tok = buildWordLevelTokenizer(["what species is this bird? it is a"], {
      extraSpecialTokens: ["<|image_pad|>"],
    });
    const vlm = tinyVlm(tok, 7);
    // the projector "trained" on every training image: scoring them must be refused
    recordTraining(vlm.provenance, ["projector"], {
      stage: "align",
      dataset: tasks.fingerprint,
      imageIds: tasks.trainIds,
    });
    model = join(dir, "model");
    await vlm.save(model);
    vlm.dispose();
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("accepts only test or train, before any work", async () => {
    const r = await cli("eval", "--model", model, "--data", data, "--split", "validation");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--split must be one of test, train; got 'validation'");
    expect(r.out).not.toContain("backend:");
  });

  it("a bad number or a missing flag exits 2 before any model is loaded or image decoded", async () => {
    for (const argv of [
      ["align", "--encoder", model, "--lm", model, "--data", data, "--out", join(dir, "o"), "--epochs", "abc"],
      ["instruct", "--model", model, "--data", data, "--out", join(dir, "o"), "--epochs", "abc"],
      ["train-vit", "--data", data, "--out", join(dir, "o"), "--epochs", "abc"],
      ["align", "--encoder", model, "--data", data, "--out", join(dir, "o")],
    ]) {
      const r = await cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toMatch(/--epochs must be a number, got 'abc'|--lm is required/);
      expect(r.out).not.toContain("backend:");
    }
  });

  it("--split train scores the training images (refused here: the projector trained on them)", async () => {
    const train = await cli("eval", "--model", model, "--data", data, "--split", "train");
    expect(train.code).toBe(1);
    expect(train.err).toMatch(/9 of the 9 .*trained the projector/);
  }, 60_000);
});
