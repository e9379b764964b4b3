import { describe, expect, it } from "vitest";
import { EarlyStopping } from "../../index.js";

describe("EarlyStopping", () => {
  it("stops after `patience` evaluations without an improvement larger than minDelta (max)", () => {
    const es = new EarlyStopping({ metric: "acc", mode: "max", patience: 2, minDelta: 0.01 });
    expect(es.update({ acc: 0.5 }, 1)).toEqual({ improved: true, stop: false });
    expect(es.update({ acc: 0.505 }, 2)).toEqual({ improved: false, stop: false }); // within minDelta
    expect(es.update({ acc: 0.6 }, 3)).toEqual({ improved: true, stop: false });
    expect(es.update({ acc: 0.59 }, 4).stop).toBe(false);
    expect(es.update({ acc: 0.4 }, 5).stop).toBe(true);
    expect(es.state).toEqual({ best: 0.6, bestStep: 3, badEvals: 2 });
  });

  it("minimizes in min mode and names a missing metric", () => {
    const es = new EarlyStopping({ metric: "loss", mode: "min", patience: 1 });
    expect(es.update({ loss: 2 }, 1).improved).toBe(true);
    expect(es.update({ loss: 1 }, 2).improved).toBe(true);
    expect(es.update({ loss: 1.5 }, 3)).toEqual({ improved: false, stop: true });
    expect(() => es.update({ acc: 1 }, 4)).toThrow(/'loss' is not among the evaluation metrics \(acc\)/);
    expect(() => new EarlyStopping({ metric: "x", mode: "max", patience: 0 })).toThrow(/patience/);
  });
});
