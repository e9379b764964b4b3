import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsLog, loadTrainerCheckpoint, readMetrics, tf } from "../../index.js";
import { sweepStaleTemporaries, writeFolderAtomic } from "../../io/atomic.js";
import { tinyTrainer } from "../../testing/tiny-trainer.js";
import { TRAINER_STATE_FORMAT, saveTrainerCheckpoint } from "./trainer-checkpoint.js";

const root = mkdtempSync(join(tmpdir(), "birdvlm-heal-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A pid no process has (above Linux's largest pid_max). */
const DEAD = 999_999_999;

describe("training folders heal", () => {
  it("sweeps a killed run's temporaries: half-written checkpoints go, a moved-aside copy is put back or dropped", async () => {
    const dir = join(root, "sweep");
    mkdirSync(join(dir, `.checkpoint-3.tmp-${DEAD}-0123abcd`), { recursive: true });
    writeFileSync(join(dir, `.checkpoint-3.tmp-${DEAD}-0123abcd`, "model.safetensors"), "half");
    mkdirSync(join(dir, "best"));
    mkdirSync(join(dir, `.best.old-${DEAD}-deadbeef`)); // the rename completed: a stale full copy
    mkdirSync(join(dir, `.checkpoint-2.old-${DEAD}-00ff00ff`)); // killed between the renames: the only copy
    writeFileSync(join(dir, `.checkpoint-2.old-${DEAD}-00ff00ff`, "trainer.json"), "{}");
    mkdirSync(join(dir, `.checkpoint-9.tmp-${process.pid}-11111111`)); // this process: in progress, kept
    const lines = await sweepStaleTemporaries(dir);
    expect(lines).toHaveLength(3);
    expect(readdirSync(dir).sort()).toEqual(
      ["best", `.checkpoint-9.tmp-${process.pid}-11111111`, "checkpoint-2"].sort(),
    );
    expect(readFileSync(join(dir, "checkpoint-2", "trainer.json"), "utf8")).toBe("{}");
    expect(await sweepStaleTemporaries(join(root, "absent"))).toEqual([]);
  });

  it("the Trainer sweeps its checkpoint folder before it resumes", async () => {
    const ckpt = join(root, "trainer", "ckpt");
    mkdirSync(join(ckpt, `.checkpoint-7.tmp-${DEAD}-aaaaaaaa`), { recursive: true });
    mkdirSync(join(ckpt, `.best.old-${DEAD}-bbbbbbbb`));
    const { model, trainer } = tinyTrainer(2, { checkpointDir: ckpt, resume: true });
    await trainer.fit();
    model.dispose();
    expect(readdirSync(ckpt).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("a full disk is reported with the path being written", async () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const target = join(root, "full", "checkpoint-4");
    await expect(
      writeFolderAtomic(target, async () => {
        throw full;
      }),
    ).rejects.toThrow(new RegExp(`${target}: no space left on the device while writing it \\(ENOSPC\\)`));
    // a real full device: /dev/full refuses every write with ENOSPC
    expect(() => new MetricsLog("/dev/full").append({ kind: "train", step: 1, epoch: 0, time: 0 })).toThrow(
      /\/dev\/full: no space left on the device while appending to it \(ENOSPC\)/,
    );
  });

  it("a metrics log whose last append was cut short resumes: the partial line is dropped", async () => {
    const path = join(root, "metrics", "metrics.jsonl");
    const log = new MetricsLog(path);
    for (const step of [1, 2, 3]) log.append({ kind: "train", step, epoch: 0, time: step, loss: 1 / step });
    writeFileSync(path, readFileSync(path, "utf8") + '{"kind":"train","step":4,"ep', { flag: "w" });
    expect(readMetrics(path).map((r) => r.step)).toEqual([1, 2, 3]);
    expect((await log.truncateAfter(3)).map((r) => r.step)).toEqual([1, 2, 3]);
    expect(readFileSync(path, "utf8").endsWith("\n")).toBe(true);
    expect(readFileSync(path, "utf8")).not.toContain('"ep\n');
    log.append({ kind: "train", step: 4, epoch: 0, time: 4, loss: 0.25 });
    expect(readMetrics(path).map((r) => r.step)).toEqual([1, 2, 3, 4]);
    // a bad line that is not the last is still an error naming it
    writeFileSync(path, '{"kind":"train","step":1,"epoch":0,"time":0}\nnot json\n{"kind":"train","step":2}\n');
    expect(() => readMetrics(path)).toThrow(/metrics\.jsonl:2: not JSON/);
  });

  it("trainer.json is checked field by field: a missing field is named, never a TypeError", async () => {
    const dir = join(root, "state", "checkpoint-1");
    const w = { w: tf.zeros([2]) };
    const good = {
      format: TRAINER_STATE_FORMAT as typeof TRAINER_STATE_FORMAT,
      step: 1,
      epoch: 0,
      position: 1,
      seed: 3,
      rng: [1, 2, 3, 4] as [number, number, number, number],
      skippedSteps: 0,
      badInARow: 0,
      pendingLoss: { sum: 0, normSum: 0, count: 0, items: 0 },
      elapsedSec: 0.5,
    };
    await saveTrainerCheckpoint(dir, w, {}, good);
    tf.dispose(Object.values(w));
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ pendingLoss: undefined }, /'pendingLoss' must be an object, got null/],
      [{ pendingLoss: { sum: 0, normSum: 0, count: 0 } }, /'pendingLoss\.items' must be a count/],
      [{ step: "3" }, /'step' must be a count ≥ 0, got "3"/],
      [{ rng: [1, 2] }, /'rng' must be 4 integers/],
      [{ epoch: -1 }, /'epoch' must be a count ≥ 0, got -1/],
      [{ elapsedSec: undefined }, /'elapsedSec' must be seconds ≥ 0/],
      [{ earlyStopping: { best: "x" } }, /'earlyStopping' must hold/],
      [{ format: "other/1" }, /not a birdvlm-trainer\/1 state \(format "other\/1"\)/],
    ];
    const before = tf.memory().numTensors;
    for (const [edit, message] of cases) {
      writeFileSync(join(dir, "trainer.json"), JSON.stringify({ ...good, ...edit }));
      await expect(loadTrainerCheckpoint(dir)).rejects.toThrow(message);
      await expect(loadTrainerCheckpoint(dir)).rejects.toThrow(/checkpoint-1\/trainer\.json: /);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true);
  });
});
