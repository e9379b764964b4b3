import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  TRAINER_STATE_FORMAT,
  disposeCheckpoint,
  latestCheckpoint,
  listCheckpoints,
  loadTrainerCheckpoint,
  pruneCheckpoints,
  saveTrainerCheckpoint,
  tf,
  type TrainerState,
} from "../../index.js";

const root = mkdtempSync(join(tmpdir(), "birdvlm-tckpt-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const state = (step: number): TrainerState => ({
  format: TRAINER_STATE_FORMAT,
  step,
  epoch: 1,
  position: 3,
  seed: 5,
  rng: [1, 2, 3, 4],
  skippedSteps: 0,
  badInARow: 0,
  pendingLoss: { sum: 1.5, normSum: 2, count: 1, items: 4 },
  elapsedSec: 1,
});

describe("trainer checkpoints", () => {
  it("round-trips model, optimizer and state, with extra files", async () => {
    const model = {
      "fc.weight": tf.tensor2d([
        [1, 2],
        [3, 4],
      ]),
      "fc.bias": tf.tensor1d([0.5, -1]),
    };
    const opt = {
      __step__: tf.scalar(3, "int32"),
      "fc.weight.exp_avg": tf.tensor2d([
        [0.1, 0.2],
        [0.3, 0.4],
      ]),
    };
    const dir = join(root, "checkpoint-3");
    await saveTrainerCheckpoint(dir, model, opt, state(3), async (tmp) =>
      writeFileSync(join(tmp, "config.json"), "{}"),
    );
    expect(existsSync(join(dir, "config.json"))).toBe(true);
    const c = await loadTrainerCheckpoint(dir);
    expect(c.state).toEqual(state(3));
    expect(Array.from(c.model["fc.weight"]!.dataSync())).toEqual([1, 2, 3, 4]);
    expect(c.optimizer.__step__!.dtype).toBe("int32");
    expect(Array.from(c.optimizer["fc.weight.exp_avg"]!.dataSync())).toEqual(
      Array.from(opt["fc.weight.exp_avg"].dataSync()),
    );
    disposeCheckpoint(c);
    [...Object.values(model), ...Object.values(opt)].forEach((t) => t.dispose());
  });

  it("finds the latest complete checkpoint and prunes old ones", async () => {
    const r = join(root, "runs");
    for (const s of [2, 10, 7]) await saveTrainerCheckpoint(join(r, `checkpoint-${s}`), {}, {}, state(s));
    mkdirSync(join(r, "checkpoint-20")); // incomplete: no trainer.json
    mkdirSync(join(r, ".checkpoint-30.tmp-1-ab")); // a temporary folder
    expect(listCheckpoints(r).map((c) => c.step)).toEqual([2, 7, 10]);
    expect(latestCheckpoint(r)).toBe(join(r, "checkpoint-10"));
    await pruneCheckpoints(r, 1);
    expect(listCheckpoints(r).map((c) => c.step)).toEqual([10]);
    expect(latestCheckpoint(join(root, "missing"))).toBeUndefined();
  });

  it("names the folder of a bad checkpoint", async () => {
    const d = join(root, "bad");
    mkdirSync(d);
    await expect(loadTrainerCheckpoint(d)).rejects.toThrow(/bad: not a training checkpoint/);
    writeFileSync(join(d, "trainer.json"), '{"format":"other"}');
    await expect(loadTrainerCheckpoint(d)).rejects.toThrow(/trainer\.json: not a birdvlm-trainer\/1 state/);
  });
});
