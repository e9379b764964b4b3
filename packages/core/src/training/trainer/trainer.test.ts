import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  AdamW,
  Module,
  SGD,
  Trainer,
  crossEntropy,
  latestCheckpoint,
  listCheckpoints,
  readMetrics,
  tf,
  warmupCosineSchedule,
  type Rng,
  type StepContext,
  type TrainerOptions,
} from "../../index.js";

const root = mkdtempSync(join(tmpdir(), "birdvlm-trainer-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(i: number, o: number, seed: number) {
    super();
    this.weight = this.registerParameter("weight", tf.randomNormal([i, o], 0, 0.5, "float32", seed), {
      transposed: true,
    });
    this.bias = this.registerParameter("bias", tf.zeros([o]));
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.add(tf.matMul(x, this.weight), this.bias);
  }
}

/** A 2-layer MLP with dropout drawn from the trainer's RNG. */
class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(
    seed = 1,
    readonly dropout = 0.2,
  ) {
    super();
    this.fc1 = this.registerModule("fc1", new Linear(4, 16, seed));
    this.fc2 = this.registerModule("fc2", new Linear(16, 3, seed + 1));
  }
  forward(x: tf.Tensor, rng?: Rng): tf.Tensor {
    let h = tf.relu(this.fc1.forward(x));
    if (this.training && this.dropout > 0 && rng) h = tf.dropout(h, this.dropout, undefined, rng.seed());
    return this.fc2.forward(h);
  }
}

interface Batch {
  x: tf.Tensor2D;
  y: tf.Tensor1D;
}

// 24 points in 3 separable classes.
const X = Array.from({ length: 24 }, (_, i) => [Math.cos(i), Math.sin(i * 1.3), (i % 3) - 1, ((i * 7) % 5) / 5]);
const Y = X.map((_, i) => i % 3);

function data(batchSize = 4) {
  return function* (_epoch: number, rng: Rng): Generator<Batch> {
    const order = rng.permutation(X.length);
    for (let i = 0; i + batchSize <= order.length; i += batchSize) {
      const idx = order.slice(i, i + batchSize);
      yield {
        x: tf.tensor2d(idx.map((j) => X[j]!)),
        y: tf.tensor1d(
          idx.map((j) => Y[j]!),
          "int32",
        ),
      };
    }
  };
}

function lossOf(model: Mlp) {
  return (b: Batch, ctx: StepContext) =>
    crossEntropy(model.forward(b.x, ctx.rng), b.y, { labelSmoothing: 0.1 }) as tf.Scalar;
}

function accuracy(model: Mlp): number {
  return tf.tidy(() => {
    const pred = tf.argMax(model.forward(tf.tensor2d(X)), 1);
    return tf.mean(tf.cast(tf.equal(pred, tf.tensor1d(Y, "int32")), "float32")).dataSync()[0]!;
  });
}

function options(model: Mlp, dir: string, extra: Partial<TrainerOptions<Batch>> = {}): TrainerOptions<Batch> {
  return {
    model,
    loss: lossOf(model),
    data: data(),
    optimizer: (p) => new AdamW(p, { lr: 0.05, weightDecay: 0.01 }),
    schedule: warmupCosineSchedule({ baseLr: 0.05, warmupSteps: 3, totalSteps: 12, minLr: 0.001 }),
    maxSteps: 12,
    gradientAccumulation: 2,
    clipGradNorm: 1,
    seed: 7,
    disposeBatch: true,
    logEvery: 4,
    checkpointDir: join(dir, "ckpt"),
    checkpointEvery: 5,
    metricsFile: join(dir, "metrics.jsonl"),
    progress: false,
    ...extra,
  };
}

function values(model: Module): Record<string, number[]> {
  return Object.fromEntries(model.namedParameters().map(([n, v]) => [n, Array.from(v.dataSync())]));
}

function withoutTimes(path: string) {
  return readMetrics(path).map(({ time, itemsPerSec, ...r }) => (void time, void itemsPerSec, r));
}

describe("Trainer", () => {
  it("keeps tf.memory().numTensors flat from step 5 to step 50 and learns", async () => {
    const dir = join(root, "memory");
    const model = new Mlp();
    const counts = new Map<number, number>();
    const trainer = new Trainer(
      options(model, dir, {
        maxSteps: 50,
        schedule: undefined,
        checkpointEvery: 20,
        evalEvery: 10,
        evaluate: () => ({ accuracy: accuracy(model) }),
        onStep: ({ step }) => counts.set(step, tf.memory().numTensors),
      }),
    );
    const before = accuracy(model);
    const result = await trainer.fit();
    expect(result.step).toBe(50);
    expect(counts.get(50)).toBe(counts.get(5));
    expect(counts.get(30)).toBe(counts.get(5));
    expect(result.lastEval!.accuracy).toBeGreaterThan(Math.max(before, 0.8));
    const m = readMetrics(join(dir, "metrics.jsonl"));
    const losses = m.filter((r) => r.kind === "train").map((r) => r.loss as number);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    trainer.dispose();
    model.dispose();
  });

  it("resumes after a crash to bit-identical parameters and metrics", async () => {
    const a = new Mlp();
    const ta = new Trainer(options(a, join(root, "a")));
    const ra = await ta.fit();
    expect(ra.stopReason).toBe("maxSteps");
    expect(ra.epoch).toBe(3); // 6 batches per epoch, 2 per step: 3 steps per epoch; the 4th epoch is consumed but not yet seen to end

    const dirB = join(root, "b");
    const b1 = new Mlp();
    const crash = new Trainer(
      options(b1, dirB, {
        onStep: ({ step }) => {
          if (step === 8) throw new Error("simulated crash");
        },
      }),
    );
    await expect(crash.fit()).rejects.toThrow(/simulated crash/);
    crash.dispose();
    expect(listCheckpoints(join(dirB, "ckpt")).map((c) => c.step)).toEqual([5]); // mid-epoch: epoch 1, batch 4
    b1.dispose();

    const b2 = new Mlp(99); // a different initialisation: everything must come from the checkpoint
    const tb = new Trainer(options(b2, dirB, { resume: true }));
    const rb = await tb.fit();
    expect(rb.step).toBe(12);
    const va = values(a),
      vb = values(b2);
    for (const n of Object.keys(va)) expect(vb[n]).toEqual(va[n]);
    expect(withoutTimes(join(dirB, "metrics.jsonl"))).toEqual(withoutTimes(join(root, "a", "metrics.jsonl")));
    // checkpoints: every 5 steps and at the end, the last 2 kept
    expect(listCheckpoints(join(dirB, "ckpt")).map((c) => c.step)).toEqual([10, 12]);
    const state = JSON.parse(readFileSync(join(latestCheckpoint(join(dirB, "ckpt"))!, "trainer.json"), "utf8"));
    expect(state).toMatchObject({ step: 12, epoch: 3, position: 6, seed: 7 });
    [ta, tb].forEach((t) => t.dispose());
    [a, b2].forEach((m) => m.dispose());
  });

  it("stops on the abort signal after a checkpoint, and resumes trained-only checkpoints", async () => {
    const dir = join(root, "abort");
    const model = new Mlp();
    const ctl = new AbortController();
    const t = new Trainer(
      options(model, dir, {
        checkpointParameters: "trained",
        onStep: ({ step }) => {
          if (step === 3) ctl.abort();
        },
        signal: ctl.signal,
      }),
    );
    const r = await t.fit();
    expect(r).toMatchObject({ stopReason: "aborted", step: 3, checkpoint: join(dir, "ckpt", "checkpoint-3") });
    const saved = values(model);
    const other = new Mlp(42);
    other.fc2.freeze(); // trained-only checkpoints hold exactly the trained parameters
    const t2 = new Trainer(options(other, dir, { checkpointParameters: "trained", resume: true, maxSteps: 3 }));
    await expect(t2.fit()).rejects.toThrow(/model\.safetensors: .*unexpected 'fc2\.weight'/);
    other.fc2.unfreeze();
    const t3 = new Trainer(options(other, dir, { checkpointParameters: "trained", resume: true, maxSteps: 3 }));
    expect((await t3.fit()).step).toBe(3);
    expect(values(other)).toEqual(saved);
    [t, t2, t3].forEach((x) => x.dispose());
    [model, other].forEach((m) => m.dispose());
  });

  it("skips non-finite steps and aborts after maxBadSteps in a row, naming the steps", async () => {
    const model = new Mlp(1, 0);
    const poisonAt = new Set([2, 5, 6, 7]);
    let seen = -1;
    const loss = (b: Batch, ctx: StepContext) => {
      seen = ctx.step;
      const l = crossEntropy(model.forward(b.x), b.y) as tf.Scalar;
      return poisonAt.has(ctx.step) ? (tf.mul(l, NaN) as tf.Scalar) : l;
    };
    const paramsAt = new Map<number, Record<string, number[]>>();
    const t = new Trainer(
      options(model, join(root, "nan"), {
        loss,
        maxSteps: 20,
        maxBadSteps: 3,
        checkpointDir: undefined,
        checkpointEvery: undefined,
        metricsFile: undefined,
        onStep: ({ step }) => paramsAt.set(step, values(model)),
      }),
    );
    await expect(t.fit()).rejects.toThrow(/not finite in 3 steps in a row \(steps 6\.\.8, epoch 2/);
    expect(seen).toBe(7);
    expect(t.skippedSteps).toBe(4);
    expect(paramsAt.get(3)).toEqual(paramsAt.get(2)); // step 3 (index 2) was skipped: no update
    expect(paramsAt.get(4)).not.toEqual(paramsAt.get(3));
    t.dispose();
    model.dispose();
  });

  it("stops early when the metric stops improving and keeps the best model", async () => {
    const dir = join(root, "early");
    const model = new Mlp();
    const scores = [0.5, 0.6, 0.58, 0.59, 0.7];
    let i = 0;
    const t = new Trainer(
      options(model, dir, {
        maxSteps: 100,
        evalEvery: 2,
        checkpointEvery: undefined,
        evaluate: () => ({ accuracy: scores[i++]! }),
        earlyStopping: { metric: "accuracy", mode: "max", patience: 2 },
      }),
    );
    const r = await t.fit();
    expect(r.stopReason).toBe("earlyStopping");
    expect(r.step).toBe(8);
    expect(r.best).toEqual({ metric: "accuracy", value: 0.6, step: 4 });
    expect(JSON.parse(readFileSync(join(dir, "ckpt", "best", "trainer.json"), "utf8")).step).toBe(4);
    expect(latestCheckpoint(join(dir, "ckpt"))).toBe(join(dir, "ckpt", "checkpoint-8"));
    t.dispose();
    model.dispose();
  });

  it("averages accumulated micro-batches like one step on the whole batch", async () => {
    const make = () => new Mlp(3, 0);
    const m1 = make(),
      m2 = make();
    const common = {
      maxSteps: 1,
      checkpointDir: undefined,
      checkpointEvery: undefined,
      metricsFile: undefined,
      clipGradNorm: undefined,
      schedule: undefined,
    };
    const t1 = new Trainer(
      options(m1, root, {
        ...common,
        data: data(2),
        gradientAccumulation: 2,
        optimizer: (p) => new SGD(p, { lr: 0.5 }),
        loss: (b) => crossEntropy(m1.forward(b.x), b.y) as tf.Scalar,
      }),
    );
    const t2 = new Trainer(
      options(m2, root, {
        ...common,
        data: data(4),
        gradientAccumulation: 1,
        optimizer: (p) => new SGD(p, { lr: 0.5 }),
        loss: (b) => crossEntropy(m2.forward(b.x), b.y) as tf.Scalar,
      }),
    );
    await t1.fit();
    await t2.fit();
    const v1 = values(m1),
      v2 = values(m2);
    for (const n of Object.keys(v1)) v1[n]!.forEach((x, j) => expect(Math.abs(x - v2[n]![j]!)).toBeLessThan(1e-6));
    expect(v1["fc1.weight"]).not.toEqual(values(make())["fc1.weight"]);
    [t1, t2].forEach((t) => t.dispose());
    [m1, m2].forEach((m) => m.dispose());
  });

  it("prints plain progress lines off a TTY and draws the curves", async () => {
    const dir = join(root, "progress");
    const model = new Mlp();
    const lines: string[] = [];
    const t = new Trainer(
      options(model, dir, {
        epochs: 2,
        maxSteps: undefined,
        logEvery: 2,
        checkpointEvery: undefined,
        evaluate: () => ({ accuracy: accuracy(model) }),
        evalEvery: 3,
        curvesFile: join(dir, "curves.png"),
        progress: { isTTY: false, write: (s: string) => lines.push(s) },
      }),
    );
    const r = await t.fit();
    expect(r.stopReason).toBe("epochs");
    expect(r.step).toBe(6);
    expect(lines.some((l) => /^step 2 \| epoch 0 \| loss \d\.\d{4} \| lr 3\.33e-2 \| [\d.]+ it\/s\n$/.test(l))).toBe(
      true,
    );
    expect(lines.some((l) => /^step 6\/6 \(100%\)/.test(l))).toBe(true); // total known after the first epoch
    expect(lines.some((l) => /^eval step 3: accuracy /.test(l))).toBe(true);
    expect(lines.join("")).not.toContain("\x1b");
    expect(existsSync(join(dir, "curves.png"))).toBe(true);
    t.dispose();
    model.dispose();
  });

  it("rejects bad configurations with a message", () => {
    const model = new Mlp();
    expect(() => new Trainer({ ...options(model, root), maxSteps: undefined })).toThrow(/maxSteps and\/or epochs/);
    expect(() => new Trainer({ ...options(model, root), logEvery: 0 })).toThrow(/logEvery must be a positive integer/);
    model.freeze();
    expect(() => new Trainer(options(model, root))).toThrow(/no trainable parameters/);
    model.dispose();
  });
});
