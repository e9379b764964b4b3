import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import sharp from "sharp";
import { CUB_PART_NAMES, drawSynthBird } from "./synth-bird-svg.js";
import {
  CUB_SIZE_VALUES,
  SYNTH_BILLS,
  SYNTH_BREAST_PATTERNS,
  SYNTH_COLORS,
  SYNTH_SIZES,
  SYNTH_WING_PATTERNS,
  type SynthSpecies,
  designSynthSpecies,
} from "./synth-species.js";
import { rngFor } from "@birdvlm/core";

/** Options of {@link generateSynthBirds}; plain data with defaults. */
export interface SynthBirdsOptions {
  /** Number of species. Default 20. */
  species?: number;
  /** Pictures per species. Default 60. */
  imagesPerSpecies?: number;
  /** Side of the square pictures in pixels. Default 96. */
  imageSize?: number;
  /** Seed of the species' design and of every picture. Default 0. */
  seed?: number;
  /** Fraction of each species' pictures in the test split. Default 0.25. */
  testFraction?: number;
  /** JPEG quality. Default 92 (no chroma subsampling, so small coloured parts keep their colour). */
  quality?: number;
  /** Replace `outDir` when it exists. Default `false` (an existing folder is an error). */
  overwrite?: boolean;
  /** Pictures rendered at the same time. Default: the number of cores. */
  concurrency?: number;
}

/** What {@link generateSynthBirds} wrote. */
export interface SynthBirdsSummary {
  /** The folder holding `CUB_200_2011/` and `attributes.txt` (open it with `CubDataset.open`). */
  root: string;
  species: SynthSpecies[];
  images: number;
  train: number;
  test: number;
  /** The attribute names written to `attributes.txt`, id `k + 1` at index `k`. */
  attributes: string[];
}

/** The attribute groups SynthBirds draws, with their CUB value names, in CUB's group order. */
function attributeTable(): Array<{ name: string; has: (s: SynthSpecies) => boolean }> {
  const colors = Object.keys(SYNTH_COLORS) as Array<keyof typeof SYNTH_COLORS>;
  const rows: Array<{ name: string; has: (s: SynthSpecies) => boolean }> = [];
  for (const b of SYNTH_BILLS) rows.push({ name: `has_bill_shape::${b}`, has: (s) => s.bill === b });
  for (const c of colors) rows.push({ name: `has_wing_color::${c}`, has: (s) => s.wing === c });
  for (const p of SYNTH_BREAST_PATTERNS)
    rows.push({ name: `has_breast_pattern::${p}`, has: (s) => s.breastPattern === p });
  for (const c of colors) rows.push({ name: `has_upper_tail_color::${c}`, has: (s) => s.tail === c });
  for (const c of colors) rows.push({ name: `has_breast_color::${c}`, has: (s) => s.breast === c });
  for (const z of SYNTH_SIZES) rows.push({ name: `has_size::${CUB_SIZE_VALUES[z]}`, has: (s) => s.size === z });
  for (const c of colors) rows.push({ name: `has_crown_color::${c}`, has: (s) => s.crown === c });
  for (const p of SYNTH_WING_PATTERNS) rows.push({ name: `has_wing_pattern::${p}`, has: (s) => s.wingPattern === p });
  return rows;
}

/**
 * Draws SynthBirds, procedural birds rendered from SVG by sharp, and writes them in the complete
 * CUB-200-2011 layout: `CUB_200_2011/{images/, images.txt, classes.txt, image_class_labels.txt,
 * train_test_split.txt, bounding_boxes.txt, parts/, attributes/}` and `attributes.txt` beside it, with CUB's
 * attribute names for what is drawn (bill shape, crown / wing / breast / upper-tail colour, breast and wing
 * pattern, size) and image-level labels, so `CubDataset` and `BirdQA` read it like the real thing.
 *
 * Species differ in at least three drawn traits (two of them part colours); pictures vary in pose, length
 * within the species' size range, position, background and lighting. The folder is written beside `outDir`
 * and renamed into place, so an interrupted run leaves nothing half-written.
 *
 * ```ts
 * const synth = await generateSynthBirds("data/synthbirds", { species: 20, imagesPerSpecies: 60, imageSize: 96 });
 * const cub = await CubDataset.open(synth.root);
 * ```
 */
export async function generateSynthBirds(outDir: string, options: SynthBirdsOptions = {}): Promise<SynthBirdsSummary> {
  const o = {
    species: 20,
    imagesPerSpecies: 60,
    imageSize: 96,
    seed: 0,
    testFraction: 0.25,
    quality: 92,
    overwrite: false,
    concurrency: availableParallelism(),
    ...options,
  };
  for (const [k, v] of [
    ["species", o.species],
    ["imagesPerSpecies", o.imagesPerSpecies],
    ["imageSize", o.imageSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`generateSynthBirds: ${k} must be a positive integer, got ${v}`);
  }
  if (!(o.testFraction >= 0 && o.testFraction < 1))
    throw new Error(`generateSynthBirds: testFraction must be in [0, 1), got ${o.testFraction}`);
  const root = resolve(outDir);
  if (existsSync(root) && !o.overwrite)
    throw new Error(`generateSynthBirds: ${root} exists (pass { overwrite: true } to replace it)`);

  const species = designSynthSpecies(o.species, rngFor(o.seed, "species"));
  const attributes = attributeTable();
  const tmp = join(dirname(root), `.${root.split(/[\\/]/).pop()}.partial-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const cub = join(tmp, "CUB_200_2011");
  await mkdir(join(cub, "parts"), { recursive: true });
  await mkdir(join(cub, "attributes"), { recursive: true });

  type Job = { imageId: number; s: SynthSpecies; k: number; isTrain: boolean; file: string };
  const jobs: Job[] = [];
  for (const s of species) {
    const folder = join(cub, "images", s.name);
    await mkdir(folder, { recursive: true });
    const tests = new Set(
      rngFor(o.seed, "split", s.id)
        .permutation(o.imagesPerSpecies)
        .slice(0, Math.round(o.imagesPerSpecies * o.testFraction)),
    );
    for (let k = 0; k < o.imagesPerSpecies; k++) {
      const file = `${s.name}/${s.name.replace(/^\d+\./, "")}_${String(k + 1).padStart(4, "0")}.jpg`;
      jobs.push({ imageId: jobs.length + 1, s, k, isTrain: !tests.has(k), file });
    }
  }

  const boxes: string[] = new Array(jobs.length);
  const partLines: string[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const drawn = drawSynthBird(job.s, o.imageSize, rngFor(o.seed, "image", job.s.id, job.k));
      await sharp(Buffer.from(drawn.svg))
        .jpeg({ quality: o.quality, chromaSubsampling: "4:4:4" })
        .toFile(join(cub, "images", job.file));
      const b = drawn.bbox;
      boxes[job.imageId - 1] = `${job.imageId} ${b.x} ${b.y} ${b.width} ${b.height}`;
      partLines[job.imageId - 1] = drawn.parts
        .map((p, j) => `${job.imageId} ${j + 1} ${p.x} ${p.y} ${p.visible ? 1 : 0}`)
        .join("\n");
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));

  const lines = (xs: string[]) => xs.join("\n") + "\n";
  await writeFile(join(cub, "images.txt"), lines(jobs.map((j) => `${j.imageId} ${j.file}`)));
  await writeFile(join(cub, "classes.txt"), lines(species.map((s) => `${s.id} ${s.name}`)));
  await writeFile(join(cub, "image_class_labels.txt"), lines(jobs.map((j) => `${j.imageId} ${j.s.id}`)));
  await writeFile(join(cub, "train_test_split.txt"), lines(jobs.map((j) => `${j.imageId} ${j.isTrain ? 1 : 0}`)));
  await writeFile(join(cub, "bounding_boxes.txt"), lines(boxes));
  await writeFile(join(cub, "parts", "parts.txt"), lines(CUB_PART_NAMES.map((n, j) => `${j + 1} ${n}`)));
  await writeFile(join(cub, "parts", "part_locs.txt"), lines(partLines));
  await writeFile(join(tmp, "attributes.txt"), lines(attributes.map((a, j) => `${j + 1} ${a.name}`)));
  await writeFile(join(cub, "attributes", "certainties.txt"), "1 not visible\n2 guessing\n3 probably\n4 definitely\n");
  await writeFile(
    join(cub, "attributes", "class_attribute_labels_continuous.txt"),
    lines(species.map((s) => attributes.map((a) => (a.has(s) ? "100.0" : "0.0")).join(" "))),
  );
  await writeFile(
    join(cub, "attributes", "image_attribute_labels.txt"),
    lines(jobs.map((j) => attributes.map((a, k) => `${j.imageId} ${k + 1} ${a.has(j.s) ? 1 : 0} 4 0`).join("\n"))),
  );
  await writeFile(
    join(tmp, "synthbirds.json"),
    JSON.stringify(
      {
        generator: "@birdvlm/data generateSynthBirds",
        options: { ...o, overwrite: undefined, concurrency: undefined },
        species,
      },
      null,
      2,
    ) + "\n",
  );

  if (existsSync(root)) await rm(root, { recursive: true, force: true });
  await rename(tmp, root);
  const train = jobs.filter((j) => j.isTrain).length;
  return {
    root,
    species,
    images: jobs.length,
    train,
    test: jobs.length - train,
    attributes: attributes.map((a) => a.name),
  };
}
