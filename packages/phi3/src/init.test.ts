import { describe, expect, it } from "vitest";
import { tf } from "@birdvlm/core";
import { ParameterInit } from "./init.js";

describe("ParameterInit", () => {
  it("gives the same draws for the same seed, seed 0 included (TF.js reads a seed of 0 as none)", () => {
    for (const seed of [0, 1, 12345]) {
      const a = new ParameterInit("random", 0.02, seed);
      const b = new ParameterInit("random", 0.02, seed);
      for (let i = 0; i < 3; i++) {
        const [x, y] = [a.normal([4, 8]), b.normal([4, 8])];
        expect(Array.from(x.dataSync())).toEqual(Array.from(y.dataSync()));
        tf.dispose([x, y]);
      }
    }
  });

  it("gives different draws for different seeds and for successive parameters", () => {
    const a = new ParameterInit("random", 0.02, 0);
    const b = new ParameterInit("random", 0.02, 1);
    const [x0, x1, y0] = [a.normal([16]), a.normal([16]), b.normal([16])];
    expect(Array.from(x0.dataSync())).not.toEqual(Array.from(x1.dataSync()));
    expect(Array.from(x0.dataSync())).not.toEqual(Array.from(y0.dataSync()));
    tf.dispose([x0, x1, y0]);
  });
});
