import { describe, expect, it } from "vitest";
import { ProgressLine, formatDuration, formatProgress } from "../index.js";

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (t: string) => out.push(t) } };
}

describe("progress line", () => {
  it("formats step/total, loss, lr, items/s and ETA", () => {
    const line = formatProgress({
      step: 120,
      total: 1000,
      epoch: 1,
      loss: 2.34567,
      lr: 3e-4,
      itemsPerSec: 85.23,
      etaSec: 185,
      skipped: 2,
    });
    expect(line).toBe("step 120/1000 (12%) | epoch 1 | loss 2.3457 | lr 3.00e-4 | 85.2 it/s | ETA 3m05s | skipped 2");
    expect(formatProgress({ step: 3, itemsPerSec: 98.04, itemName: "img" })).toBe("step 3 | 98.0 img/s");
    expect(formatDuration(3725)).toBe("1h02m");
    expect(formatDuration(9)).toBe("9s");
  });

  it("redraws in place on a TTY, throttled", () => {
    const { out, stream } = sink(true);
    const p = new ProgressLine(stream, 10_000);
    p.update({ step: 1 });
    p.update({ step: 2 }); // throttled
    p.update({ step: 3 }, true);
    p.log("eval acc 0.5");
    p.done();
    expect(out).toEqual(["\r\x1b[2Kstep 1", "\r\x1b[2Kstep 3", "\r\x1b[2K", "eval acc 0.5\n"]);
  });

  it("prints plain lines and no escape codes when not a TTY", () => {
    const { out, stream } = sink(false);
    const p = new ProgressLine(stream);
    p.update({ step: 1 });
    p.logState({ step: 5, total: 10, loss: 1 });
    p.done();
    expect(out).toEqual(["step 5/10 (50%) | loss 1.0000\n"]);
  });
});
