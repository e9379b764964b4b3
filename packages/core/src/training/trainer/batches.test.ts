import { describe, expect, it } from "vitest";
import { EpochBatches, epochRng, type Rng } from "../../index.js";

const factory = (n: number) => (epoch: number, rng: Rng) => rng.permutation(n).map((i) => `${epoch}:${i}`);

async function drain(b: EpochBatches<string>, count: number): Promise<Array<string | undefined>> {
  const out: Array<string | undefined> = [];
  for (let i = 0; i < count; i++) out.push(await b.next());
  return out;
}

describe("EpochBatches", () => {
  it("walks epochs with a per-epoch RNG and marks their ends", async () => {
    const b = new EpochBatches(factory(3), 1, 0, 0, () => undefined);
    const got = await drain(b, 8);
    expect(got[3]).toBeUndefined();
    expect(got[7]).toBeUndefined();
    expect(got.slice(0, 3).every((x) => x!.startsWith("0:"))).toBe(true);
    expect(got.slice(4, 7).every((x) => x!.startsWith("1:"))).toBe(true);
    expect(b.epoch).toBe(2);
    expect(epochRng(1, 0).getState()).toEqual(epochRng(1, 0).getState());
    expect(epochRng(1, 0).getState()).not.toEqual(epochRng(1, 1).getState());
  });

  it("resumes mid-epoch by discarding the consumed batches", async () => {
    const full = await drain(new EpochBatches(factory(5), 9, 0, 0, () => undefined), 12);
    const discarded: string[] = [];
    const resumed = new EpochBatches(factory(5), 9, 1, 2, (x) => discarded.push(x));
    expect(await drain(resumed, 4)).toEqual(full.slice(8, 12));
    expect(discarded).toEqual(full.slice(6, 8));
  });

  it("rejects an empty epoch and a resume position past the data", async () => {
    await expect(
      new EpochBatches(
        () => [],
        0,
        0,
        0,
        () => undefined,
      ).next(),
    ).rejects.toThrow(/data\(0\) yielded no batches/);
    await expect(new EpochBatches(factory(2), 0, 3, 5, () => undefined).next()).rejects.toThrow(
      /resuming epoch 3 at batch 5.*only 2/,
    );
  });
});
