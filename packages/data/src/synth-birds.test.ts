import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BirdQA } from "./bird-qa.js";
import { CubDataset } from "./cub-dataset.js";
import { generateSynthBirds, type SynthBirdsSummary } from "./synth-birds.js";
import { rngFor } from "@birdvlm/core";
import { drawSynthBird } from "./synth-bird-svg.js";
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
  for (let dy = -1; dy <= 1; dy++)
    for (let dx = -1; dx <= 1; dx++) {
      const i = (Math.round(y + dy) * size + Math.round(x + dx)) * 3;
      let best: SynthColor = "red";
      let bestD = Infinity;
      for (const [name, hex] of Object.entries(SYNTH_COLORS)) {
        const n = parseInt(hex.slice(1), 16);
        const d =
          (px[i]! - ((n >> 16) & 255)) ** 2 + (px[i + 1]! - ((n >> 8) & 255)) ** 2 + (px[i + 2]! - (n & 255)) ** 2;
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
    expect([...groups].sort()).toEqual([
      "bill_shape",
      "breast_color",
      "breast_pattern",
      "crown_color",
      "size",
      "upper_tail_color",
      "wing_color",
      "wing_pattern",
    ]);
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
      for (const [part, color] of [
        [at("crown"), s.crown],
        [wing, s.wing],
        [at("tail"), s.tail],
        [at("throat"), s.breast],
      ] as const) {
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
    for (const a of synth.species)
      for (const b of synth.species) {
        if (a.id >= b.id) continue;
        expect(traits.filter((t) => a[t] !== b[t]).length).toBeGreaterThanOrEqual(3);
      }
    expect(new Set(synth.species.map((s) => s.label)).size).toBe(8);
  });

  it("is deterministic for a seed, and refuses to overwrite unless asked", async () => {
    const again = await generateSynthBirds(join(dir, "b"), {
      species: 8,
      imagesPerSpecies: 10,
      imageSize: 96,
      seed: 3,
    });
    const hash = async (root: string, rel: string) =>
      createHash("sha256")
        .update(await readFile(join(root, rel)))
        .digest("hex");
    for (const rel of [
      "CUB_200_2011/bounding_boxes.txt",
      "CUB_200_2011/parts/part_locs.txt",
      "attributes.txt",
      `CUB_200_2011/images/${cub.get(17).relativePath}`,
    ]) {
      expect(await hash(again.root, rel)).toBe(await hash(synth.root, rel));
    }
    const other = await generateSynthBirds(join(dir, "b"), {
      species: 8,
      imagesPerSpecies: 2,
      imageSize: 32,
      seed: 4,
      overwrite: true,
    });
    expect(other.species.map((s) => s.label)).not.toEqual(synth.species.map((s) => s.label));
    await expect(generateSynthBirds(join(dir, "b"), { species: 2, imagesPerSpecies: 1 })).rejects.toThrow(/exists/);
  });
});

/** An RGB colour `[r, g, b]` of a `#rrggbb` string, under the picture's lighting veil (white above 1, black below). */
function lit(hex: string, brightness: number): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  const a = Math.abs(brightness - 1) * 0.9,
    over = brightness >= 1 ? 255 : 0;
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => v * (1 - a) + over * a) as [number, number, number];
}

/** Of `candidates` (name → hex), the one nearest to the pixel at (x, y) of an RGB buffer `size` wide. */
function nearest(
  px: Buffer,
  size: number,
  [x, y]: [number, number],
  candidates: Record<string, string>,
  brightness: number,
): string {
  const i = (Math.min(size - 1, Math.floor(y)) * size + Math.min(size - 1, Math.floor(x))) * 3;
  let best = "",
    bestD = Infinity;
  for (const [name, hex] of Object.entries(candidates)) {
    const c = lit(hex, brightness);
    const d = (px[i]! - c[0]) ** 2 + (px[i + 1]! - c[1]) ** 2 + (px[i + 2]! - c[2]) ** 2;
    if (d < bestD) [best, bestD] = [name, d];
  }
  return best;
}

describe("SynthBirds pictures agree with their labels at the demo's 64 px", () => {
  let small: SynthBirdsSummary;
  let set: CubDataset;
  beforeAll(async () => {
    small = await generateSynthBirds(join(dir, "64px"), { species: 12, imagesPerSpecies: 6, imageSize: 64, seed: 0 });
    set = await CubDataset.open(small.root);
  });

  it("shows each labelled colour (crown, wing, breast, upper tail) and each labelled pattern where the bird is drawn", async () => {
    const tally = new Map<string, { checked: number; matched: number }>();
    const count = (what: string, ok: boolean) => {
      const t = tally.get(what) ?? { checked: 0, matched: 0 };
      t.checked++;
      if (ok) t.matched++;
      tally.set(what, t);
    };
    const perSpecies = new Map<number, number>();
    for (let i = 0; i < set.size; i++) {
      const image = set.get(i);
      const s = small.species[image.classId - 1]!;
      const k = perSpecies.get(s.id) ?? 0;
      perSpecies.set(s.id, k + 1);
      const drawn = drawSynthBird(s, 64, rngFor(0, "image", s.id, k));
      for (const key of ["x", "y", "width", "height"] as const)
        expect(drawn.bbox[key]).toBeCloseTo(image.bbox![key], 3); // the picture on disk
      const px = await sharp(image.path).removeAlpha().raw().toBuffer();
      const labels = Object.fromEntries(
        set
          .imageAttributes(image.imageId)
          .filter((a) => a.present)
          .map((a) => [a.group, a.value]),
      );
      const b = drawn.pose.brightness;
      for (const [group, probes] of [
        ["crown_color", drawn.probes.crown],
        ["wing_color", drawn.probes.wing],
        ["breast_color", drawn.probes.breast],
        ["upper_tail_color", drawn.probes.tail],
      ] as const) {
        expect(probes.length, `${group} of image ${image.imageId}`).toBeGreaterThan(0);
        for (const p of probes) count(group, nearest(px, 64, p, SYNTH_COLORS, b) === labels[group]);
      }
      // Patterns: the marks of a striped or spotted part are seen where they are drawn, and a part labelled
      // solid shows its own colour all over (its probes then cover the whole visible part).
      for (const [part, color, pattern, marks] of [
        ["breast", s.breast, labels.breast_pattern, drawn.probes.breastMarks],
        ["wing", s.wing, labels.wing_pattern, drawn.probes.wingMarks],
      ] as const) {
        const markHex = luma(SYNTH_COLORS[color]) > 0.45 ? "#1e1e1e" : "#f4f4ee";
        const two = { base: SYNTH_COLORS[color], mark: markHex };
        expect(
          pattern === "solid" ? marks.length === 0 : marks.length >= 2,
          `${part} of image ${image.imageId} is ${pattern}`,
        ).toBe(true);
        for (const p of marks) count(`${part}_pattern marks`, nearest(px, 64, p, two, b) === "mark");
        for (const p of part === "breast" ? drawn.probes.breast : drawn.probes.wing)
          count(`${part}_pattern plain`, nearest(px, 64, p, two, b) === "base");
      }
    }
    console.log([...tally].map(([w, t]) => `${w} ${t.matched}/${t.checked}`).join("; "));
    for (const [what, t] of tally)
      expect(t.matched / t.checked, `${what}: ${t.matched} of ${t.checked} probes`).toBeGreaterThan(0.9);
    expect([...tally.keys()].sort()).toEqual([
      "breast_color",
      "breast_pattern marks",
      "breast_pattern plain",
      "crown_color",
      "upper_tail_color",
      "wing_color",
      "wing_pattern marks",
      "wing_pattern plain",
    ]);
  });
});

function luma(hex: string): number {
  const [r, g, bl] = lit(hex, 1);
  return (0.299 * r + 0.587 * g + 0.114 * bl) / 255;
}
