import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { constantSchedule, warmupCosineSchedule } from "../index.js";
import { sharedPath } from "../../../../testing/shared.js";

const goldenPath = sharedPath("goldens/training.json");

describe.skipIf(!goldenPath)("warmupCosineSchedule against goldens/training.json", () => {
  it("gives the 101 reference values (base 1e-3, warmup 10, total 100, floor 1e-5) to 1e-12", () => {
    const values = (JSON.parse(readFileSync(goldenPath!, "utf8")) as { warmup_cosine: { values: number[] } })
      .warmup_cosine.values;
    expect(values).toHaveLength(101);
    const s = warmupCosineSchedule({ baseLr: 1e-3, warmupSteps: 10, totalSteps: 100, minLr: 1e-5 });
    values.forEach((v, step) => expect(Math.abs(s(step) - v)).toBeLessThan(1e-12));
  });
});

describe("schedules", () => {
  it("constant is constant", () => {
    const s = constantSchedule(0.3);
    expect([s(0), s(10), s(1e6)]).toEqual([0.3, 0.3, 0.3]);
  });

  it("cosine stays at the floor after the end and rejects bad configs", () => {
    const s = warmupCosineSchedule({ baseLr: 1, totalSteps: 10, minLr: 0.1 });
    expect(s(0)).toBe(1);
    expect(s(10)).toBeCloseTo(0.1, 12);
    expect(s(50)).toBe(0.1);
    expect(() => warmupCosineSchedule({ baseLr: 1, warmupSteps: 10, totalSteps: 10 })).toThrow(/totalSteps/);
  });
});
