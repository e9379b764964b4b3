import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { Rng } from "@birdvlm/core";
import { ImagePipeline } from "./image-pipeline.js";

/** A 192x192 JPEG of seeded noise over a gradient: enough entropy-coded data to damage in the middle. */
async function photo(seed: number): Promise<Buffer> {
  const rng = new Rng(seed);
  const px = new Uint8Array(192 * 192 * 3);
  for (let i = 0; i < px.length; i++) px[i] = ((i % 577) >> 2) + Math.floor(rng.float() * 100);
  return sharp(px, { raw: { width: 192, height: 192, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe("damaged JPEGs", () => {
  const photos: Buffer[] = [];
  beforeAll(async () => {
    for (let s = 0; s < 8; s++) photos.push(await photo(s));
  });

  it("refuses a JPEG whose middle bytes are scrambled (libjpeg would guess the pixels and warn)", async () => {
    const pipe = new ImagePipeline({ size: 32 });
    for (const [k, original] of photos.entries()) {
      await expect(pipe.load({ data: original, name: `ok${k}.jpg` })).resolves.toHaveLength(32 * 32 * 3);
      const b = Buffer.from(original);
      for (let i = Math.floor(b.length * 0.4); i < Math.floor(b.length * 0.6); i++) b[i] = (b[i]! * 31 + 7) & 255;
      await expect(pipe.load({ data: b, name: `scrambled${k}.jpg` })).rejects.toThrow(
        new RegExp(`scrambled${k}\\.jpg: cannot decode image \\(.*(Corrupt JPEG|warning|error)`, "i"),
      );
    }
    // the old, lenient behaviour stays available
    const lenient = new ImagePipeline({ size: 32, failOn: "error" });
    const b = Buffer.from(photos[0]!);
    for (let i = Math.floor(b.length * 0.4); i < Math.floor(b.length * 0.6); i++) b[i] = (b[i]! * 31 + 7) & 255;
    await expect(lenient.load({ data: b })).resolves.toHaveLength(32 * 32 * 3);
  });

  it("names the damage of every truncated JPEG decoded at once, never '(Unknown error)'", async () => {
    const pipe = new ImagePipeline({ size: 32 });
    for (const cut of [0.3, 0.6, 0.9]) {
      const results = await Promise.allSettled(
        photos.map((p, k) => pipe.load({ data: p.subarray(0, Math.floor(p.length * cut)), name: `cut${k}.jpg` })),
      );
      for (const [k, r] of results.entries()) {
        expect(r.status).toBe("rejected");
        const message = (r as PromiseRejectedResult).reason.message as string;
        expect(message).toMatch(new RegExp(`^cut${k}\\.jpg: cannot decode image \\(.*premature end`, "i"));
        expect(message).not.toMatch(/Unknown error/);
      }
    }
  });
});
