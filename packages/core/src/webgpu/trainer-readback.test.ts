// No host read-back inside a training step (issue 8): with `finiteCheck: "log"` the Trainer reads from the
// device only at its log intervals; by default, one float per step (the non-finite guard). On every backend.
import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { countReads } from "./read-counter.js";
import { tinyTrainer } from "./testing-model.js";

/** Reads counted in each step (1-based), up to its `onStep`: a step's log interval included. */
async function readsPerStep(finiteCheck: "step" | "log"): Promise<number[]> {
  const marks: number[] = [];
  const counter = countReads();
  const { model, trainer } = tinyTrainer(8, { logEvery: 4, finiteCheck, onStep: () => marks.push(counter.count) });
  try {
    await trainer.fit();
  } finally {
    counter.restore();
    trainer.dispose();
    model.dispose();
  }
  return marks.map((m, i) => m - (i > 0 ? marks[i - 1]! : 0));
}

describe("Trainer read-backs", () => {
  it('finiteCheck "log": none inside a step, one at each log interval', async () => {
    const before = tf.memory().numTensors;
    const reads = await readsPerStep("log");
    expect(reads).toHaveLength(8);
    // Step 1 includes the run's start; steps 4 and 8 end with a log interval (one read of loss and norm).
    expect([reads[1], reads[2], reads[4], reads[5], reads[6]]).toEqual([0, 0, 0, 0, 0]);
    expect(reads[3]).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("by default, one read per step (the non-finite guard)", async () => {
    const reads = await readsPerStep("step");
    expect([reads[1], reads[2], reads[4], reads[5], reads[6]]).toEqual([1, 1, 1, 1, 1]);
    expect(reads[3]).toBe(2);
  });

  it('finiteCheck "log" aborts at the log interval that saw a non-finite loss', async () => {
    const { model, trainer } = tinyTrainer(6, { logEvery: 2, finiteCheck: "log" }, 2);
    await expect(trainer.fit()).rejects.toThrow(/not finite in steps 3\.\.4/);
    trainer.dispose();
    model.dispose();
  });
});
