import { describe, expect, it } from "vitest";
import { LossWatch } from "./loss-watch.js";

describe("LossWatch", () => {
  it("warns once when the loss collapses within the first steps (the label-leak symptom)", () => {
    const warnings: string[] = [];
    const w = new LossWatch((m) => warnings.push(m));
    for (const l of [5, 3, 0.1, 0.01, 0.001]) w.observe(l);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/fell from 5\.000 to 0\.1000 in 3 steps.*labels mask the prompt/);
  });

  it("stays quiet for a plausible descent, and after its window", () => {
    const warnings: string[] = [];
    const w = new LossWatch((m) => warnings.push(m), 3);
    for (const l of [5, 4.5, 4, 3.6, 0.01]) w.observe(l);
    expect(warnings).toEqual([]);
  });
});
