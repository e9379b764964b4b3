import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MetricsLog, readMetrics } from "../index.js";

const dir = mkdtempSync(join(tmpdir(), "birdvlm-metrics-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("MetricsLog", () => {
  it("appends JSON lines, reads them back and truncates after a step", async () => {
    const log = new MetricsLog(join(dir, "sub", "metrics.jsonl"));
    for (let s = 1; s <= 4; s++) log.append({ kind: "train", step: s, epoch: 0, time: s, loss: 1 / s });
    log.append({ kind: "eval", step: 4, epoch: 0, time: 4, acc: 0.5 });
    const lines = readFileSync(log.path, "utf8").trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[4]!)).toEqual({ kind: "eval", step: 4, epoch: 0, time: 4, acc: 0.5 });
    const kept = await log.truncateAfter(2);
    expect(kept.map((r) => r.step)).toEqual([1, 2]);
    expect(log.read()).toEqual(kept);
  });

  it("names the line of a malformed record", () => {
    const p = join(dir, "bad.jsonl");
    writeFileSync(p, '{"kind":"train","step":1,"epoch":0,"time":0}\n{oops\n');
    expect(() => readMetrics(p)).toThrow(/bad\.jsonl:2: not JSON/);
    expect(readMetrics(join(dir, "none.jsonl"))).toEqual([]);
  });
});
