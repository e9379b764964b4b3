import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";

/** The trainable parts of a BirdVLM whose training data is tracked. */
export type PartName = "encoder" | "projector" | "lm";

/** One training run of one part: which dataset (fingerprint of its index files), which images, which stage. */
export interface TrainingRecord {
  stage: string;
  /** Fingerprint of the dataset (see `fingerprintFiles`). */
  dataset: string;
  /** Ids of every image that trained the part in this run. */
  imageIds: string[];
  /** ISO time the run ended. */
  date: string;
}

/** Per part, every training run that changed its weights; saved as `provenance.json`. */
export interface Provenance {
  parts: Partial<Record<PartName, TrainingRecord[]>>;
}

/** An empty provenance (nothing trained here). */
export function emptyProvenance(): Provenance {
  return { parts: {} };
}

/** Adds a training run to each named part. */
export function recordTraining(p: Provenance, parts: readonly PartName[], record: Omit<TrainingRecord, "date">): void {
  const full: TrainingRecord = { ...record, imageIds: [...record.imageIds], date: new Date().toISOString() };
  for (const part of parts) (p.parts[part] ??= []).push(full);
}

/** Per part, how many of `imageIds` (of the dataset with fingerprint `dataset`) trained it; parts without overlap are left out. */
export function overlapByPart(
  p: Provenance,
  dataset: string,
  imageIds: readonly string[],
): Array<{ part: PartName; count: number }> {
  const wanted = new Set(imageIds);
  const out: Array<{ part: PartName; count: number }> = [];
  for (const [part, records] of Object.entries(p.parts) as Array<[PartName, TrainingRecord[]]>) {
    const seen = new Set<string>();
    for (const r of records) if (r.dataset === dataset) for (const id of r.imageIds) if (wanted.has(id)) seen.add(id);
    if (seen.size) out.push({ part, count: seen.size });
  }
  return out;
}

/** A dataset fingerprint: SHA-256 over the names and contents of its index files (e.g. CUB's images.txt, split, labels). */
export async function fingerprintFiles(paths: readonly string[]): Promise<string> {
  const h = createHash("sha256");
  for (const path of [...paths].sort()) {
    h.update(path.split(/[\\/]/).pop()!);
    h.update(await readFile(path));
  }
  return `sha256:${h.digest("hex").slice(0, 32)}`;
}
