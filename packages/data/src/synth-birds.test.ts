import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BirdQA } from "./bird-qa.js";
import { CubDataset } from "./cub-dataset.js";
import { generateSynthBirds, type SynthBirdsSummary } from "./synth-birds.js";
import { SYNTH_COLORS, type SynthColor } from "./synth-species.js";

let dir: string;
let synth: SynthBirdsSummary;
let cub: CubDataset;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "birdvlm-synth-"));
  synth = await generateSynthBirds(join(dir, "a"), { species: 8, imagesPerSpecies: 10, imageSize: 96, seed: 3 });
  cub = await CubDataset.open(synth.root);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** The palette colour most of the 3x3 pixels around (x, y) are nearest to. */
function colorAt(px: Buffer, size: number, x: number, y: number): SynthColor {
  const votes = new Map<SynthColor, number>();
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
    const i = (Math.round(y + dy) * size + Math.round(x + dx)) * 3;
    let best: SynthColor = "red";
    let bestD = Infinity;
    for (const [name, hex] of Object.entries(SYNTH_COLORS)) {
      const n = parseInt(hex.slice(1), 16);
      const d = (px[i]! - ((n >> 16) & 255)) ** 2 + (px[i + 1]! - ((n >> 8) & 255)) ** 2 + (px[i + 2]! - (n & 255)) ** 2;
      if (d < bestD) [best, bestD] = [name as SynthColor, d];
    }
    votes.set(best, (votes.get(best) ?? 0) + 1);
  }
  return [...votes].sort((a, b) => b[1] - a[1])[0]![0];
}

describe("generateSynthBirds", () => {
  it("writes the complete CUB layout that CubDataset reads", () => {
    expect(synth.images).toBe(80);
    expect(cub.size).toBe(80);
    expect(cub.classes.length).toBe(8);
    expect(cub.split("test").size).toBe(8 * 3);
    expect(synth.train).toBe(56);
    expect(cub.hasBoundingBoxes && cub.hasClassAttributes && cub.hasImageAttributes).toBe(true);
    expect(cub.parts!.map((p) => p.name)).toContain("left wing");
    expect(cub.attributes!.every((a) => a.name.startsWith("has_"))).toBe(true);
    const groups = new Set(cub.attributes!.map((a) => a.group));
    expect([...groups].sort()).toEqual(["bill_shape", "breast_color", "breast_pattern", "crown_color", "size", "upper_tail_color", "wing_color", "wing_pattern"]);
    for (const s of synth.species) expect(cub.classById(s.id).label).toBe(s.label);
  });

  it("labels every image with exactly the drawn value of each attribute group", () => {
    for (let i = 0; i < cub.size; i++) {
      const image = cub.get(i);
      const s = synth.species[image.classId - 1]!;
      const present = cub.imageAttributes(image.imageId).filter((a) => a.present);
      expect(present.map((a) => a.name).sort()).toEqual(
        [
          `has_bill_shape::${s.bill}`,
          `has_breast_color::${s.breast}`,
          `has_breast_pattern::${s.breastPattern}`,
          `has_crown_color::${s.crown}`,
          `has_size::${{ small: "small_(5_-_9_in)", medium: "medium_(9_-_16_in)", large: "large_(16_-_32_in)" }[s.size]}`,
          `has_upper_tail_color::${s.tail}`,
          `has_wing_color::${s.wing}`,
          `has_wing_pattern::${s.wingPattern}`,
        ].sort(),
      );
    }
  });

  it("draws the labelled colours where the part locations say, inside the box", async () => {
    let checked = 0;
    let matched = 0;
    for (let i = 0; i < cub.size; i++) {
      const image = cub.get(i);
      const s = synth.species[image.classId - 1]!;
      const px = await sharp(image.path).raw().toBuffer();
      const at = (name: string) => image.parts!.find((p) => p.name === name && p.visible)!;
      const wing = image.parts!.find((p) => p.name.endsWith("wing") && p.visible)!;
      expect(image.parts!.filter((p) => p.name.endsWith("wing") && p.visible).length).toBe(1);
      for (const [part, color] of [[at("crown"), s.crown], [wing, s.wing], [at("tail"), s.tail], [at("throat"), s.breast]] as const) {
        const b = image.bbox!;
        expect(part.x).toBeGreaterThanOrEqual(b.x - 1);
        expect(part.x).toBeLessThanOrEqual(b.x + b.width + 1);
        expect(part.y).toBeGreaterThanOrEqual(b.y - 1);
        expect(part.y).toBeLessThanOrEqual(b.y + b.height + 1);
        checked++;
        if (colorAt(px, 96, part.x, part.y) === color) matched++;
      }
    }
    expect(matched / checked).toBeGreaterThan(0.95);
  });

  it("round-trips through BirdQA with answers equal to the drawn traits", () => {
    const qa = BirdQA.fromCub(cub, { seed: 1 });
    for (let i = 0; i < cub.size; i += 7) {
      const s = synth.species[cub.get(i).classId - 1]!;
      const facts = Object.fromEntries(qa.facts(i).map((f) => [f.topic, f]));
      expect(facts.species!.answer).toBe(s.label);
      expect(facts.crown_color!.answer).toBe(s.crown);
      expect(facts.wing_color!.answer).toBe(s.wing);
      expect(facts.breast_color!.answer).toBe(s.breast);
      expect(facts.upper_tail_color!.answer).toBe(s.tail);
      expect(facts.size!.answer).toBe(s.size);
      expect(facts.breast_pattern!.answer).toBe(s.breastPattern);
      expect(facts.crown_color!.source).toBe("image-attributes");
      expect(facts.crown_color!.negatives).not.toContain(s.crown);
    }
    const test = qa.conversations("test");
    expect(test.length).toBe(24);
    expect(test.every((r) => !cub.get(cub.indexOf(Number(r.id))).isTrain)).toBe(true);
  });

  it("designs species that differ in at least three drawn traits", () => {
    const traits = ["crown", "wing", "breast", "tail", "bill", "size", "breastPattern", "wingPattern"] as const;
    for (const a of synth.species) for (const b of synth.species) {
      if (a.id >= b.id) continue;
      expect(traits.filter((t) => a[t] !== b[t]).length).toBeGreaterThanOrEqual(3);
    }
    expect(new Set(synth.species.map((s) => s.label)).size).toBe(8);
  });

  it("is deterministic for a seed, and refuses to overwrite unless asked", async () => {
    const again = await generateSynthBirds(join(dir, "b"), { species: 8, imagesPerSpecies: 10, imageSize: 96, seed: 3 });
    const hash = async (root: string, rel: string) => createHash("sha256").update(await readFile(join(root, rel))).digest("hex");
    for (const rel of ["CUB_200_2011/bounding_boxes.txt", "CUB_200_2011/parts/part_locs.txt", "attributes.txt", `CUB_200_2011/images/${cub.get(17).relativePath}`]) {
      expect(await hash(again.root, rel)).toBe(await hash(synth.root, rel));
    }
    const other = await generateSynthBirds(join(dir, "b"), { species: 8, imagesPerSpecies: 2, imageSize: 32, seed: 4, overwrite: true });
    expect(other.species.map((s) => s.label)).not.toEqual(synth.species.map((s) => s.label));
    await expect(generateSynthBirds(join(dir, "b"), { species: 2, imagesPerSpecies: 1 })).rejects.toThrow(/exists/);
  });
});
