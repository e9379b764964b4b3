import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, describe, expect, it } from "vitest";
import { curveSeries, curvesSvg, niceTicks, renderCurves, type MetricsRecord } from "../index.js";

const dir = mkdtempSync(join(tmpdir(), "birdvlm-curves-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const records: MetricsRecord[] = [
  ...Array.from({ length: 20 }, (_, i) => ({
    kind: "train" as const,
    step: (i + 1) * 5,
    epoch: 0,
    time: i,
    loss: 3 / (i + 1),
    lr: 1e-3,
  })),
  { kind: "eval", step: 50, epoch: 0, time: 10, accuracy: 0.4 },
  { kind: "eval", step: 100, epoch: 1, time: 20, accuracy: 0.7 },
];

describe("curves", () => {
  it("picks train/loss and the eval metrics by default", () => {
    const s = curveSeries(records);
    expect(s.map((x) => x.name)).toEqual(["train/loss", "eval/accuracy"]);
    expect(s[1]!.points).toEqual([
      [50, 0.4],
      [100, 0.7],
    ]);
  });

  it("chooses round ticks", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 97, 5)).toEqual([20, 40, 60, 80]);
  });

  it("renders a PNG whose panels contain the series colours", async () => {
    const path = join(dir, "curves.png");
    await renderCurves(records, path, { title: "run" });
    const img = sharp(path);
    const meta = await img.metadata();
    expect(meta.format).toBe("png");
    expect(meta.width).toBe(960);
    expect(meta.height).toBe(30 + 260);
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    const count = (r: number, g: number, b: number, half: "left" | "right") => {
      let n = 0;
      for (let y = 0; y < info.height; y++)
        for (let x = half === "left" ? 0 : info.width / 2; x < (half === "left" ? info.width / 2 : info.width); x++) {
          const o = (y * info.width + x) * info.channels;
          if (Math.abs(data[o]! - r) < 30 && Math.abs(data[o + 1]! - g) < 30 && Math.abs(data[o + 2]! - b) < 30) n++;
        }
      return n;
    };
    expect(count(0x1f, 0x77, 0xb4, "left")).toBeGreaterThan(200); // blue loss curve in the left panel
    expect(count(0xd6, 0x27, 0x28, "right")).toBeGreaterThan(50); // red accuracy curve in the right panel
    expect(count(0xd6, 0x27, 0x28, "left")).toBe(0);
  });

  it("draws an empty panel and escapes names", () => {
    const svg = curvesSvg([], { series: ["eval/a<b"] });
    expect(svg).toContain("no data");
    expect(svg).toContain("a&lt;b");
  });
});
