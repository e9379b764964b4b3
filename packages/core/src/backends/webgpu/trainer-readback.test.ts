// No host read-back inside a training step (issue 8): with `finiteCheck: "log"` the Trainer reads from the
// device only at its log intervals; by default, one float per step (the non-finite guard). On every backend.
import { describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { SGD } from "../../training/optimizers/sgd.js";
import type { TrainerOptions } from "../../training/trainer/options.js";
import { countReads } from "../read-counter.js";
import { tinyTrainer } from "../../testing/tiny-trainer.js";

/** Reads counted in each step (1-based), up to its `onStep`: a step's log interval included. */
async function readsPerStep(finiteCheck: "step" | "log" | "device"): Promise<number[]> {
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

  it('finiteCheck "device": none inside a step either, one at each log interval', async () => {
    const before = tf.memory().numTensors;
    const reads = await readsPerStep("device");
    expect([reads[1], reads[2], reads[4], reads[5], reads[6]]).toEqual([0, 0, 0, 0, 0]);
    expect(reads[3]).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  /** Final parameters and skipped count of a run with a NaN loss at step 3 (SGD: no step-count dependence). */
  async function runWithNaN(
    finiteCheck: "step" | "device",
  ): Promise<{ params: Float32Array[]; skipped: number; losses: number[] }> {
    const options: Partial<TrainerOptions<{ ids: tf.Tensor2D }>> = {
      logEvery: 2,
      finiteCheck,
      optimizer: (params) => new SGD(params, { lr: 0.1 }),
    };
    const { model, trainer } = tinyTrainer(6, options, 2);
    const result = await trainer.fit();
    const params = trainer.parameters.map(([, v]) => Float32Array.from(v.dataSync()));
    const losses = trainer
      .records()
      .filter((r) => r.kind === "train" && r.loss !== undefined)
      .map((r) => r.loss as number);
    trainer.dispose();
    model.dispose();
    return { params, skipped: result.skippedSteps, losses };
  }

  it('finiteCheck "device" skips a non-finite step on the device: same parameters as the host-side skip', async () => {
    const before = tf.memory().numTensors;
    const host = await runWithNaN("step");
    const device = await runWithNaN("device");
    expect(host.skipped).toBe(1);
    expect(device.skipped).toBe(1);
    for (const p of device.params) expect(p.every(Number.isFinite)).toBe(true);
    expect(device.params).toEqual(host.params);
    expect(device.losses).toHaveLength(3);
    expect(device.losses.every(Number.isFinite)).toBe(true);
    expect(device.losses).toEqual(host.losses);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('finiteCheck "device" aborts once maxBadSteps steps in a row were skipped', async () => {
    const lm: { forward?: (ids: tf.Tensor2D) => tf.Tensor } = {};
    const loss = (b: { ids: tf.Tensor2D }) => tf.tidy(() => tf.mul(tf.sum(lm.forward!(b.ids)), NaN) as tf.Scalar);
    const { model, trainer } = tinyTrainer(12, { logEvery: 2, finiteCheck: "device", maxBadSteps: 4, loss });
    lm.forward = (ids) => model.forward(ids);
    const before = model.namedParameters().map(([, v]) => Float32Array.from(v.dataSync()));
    await expect(trainer.fit()).rejects.toThrow(/not finite in 4 steps in a row .*finiteCheck "device" skipped them/);
    expect(trainer.skippedSteps).toBe(4);
    // Every update was skipped: the parameters are as they started.
    expect(model.namedParameters().map(([, v]) => Float32Array.from(v.dataSync()))).toEqual(before);
    trainer.dispose();
    model.dispose();
  });
});
