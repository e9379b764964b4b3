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

const PARTS: readonly PartName[] = ["encoder", "projector", "lm"];

/**
 * Reads a `provenance.json` (the guard that keeps evaluation off the images a model trained on), failing closed:
 * a file that exists but cannot be read, is not JSON or is not `{ parts: { <part>: TrainingRecord[] } }` is an
 * error naming the file and the field; a missing file gives an empty provenance and one warning saying the guard is
 * off for this model.
 */
export async function readProvenanceFile(path: string): Promise<Provenance> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT")
      throw new Error(`${path}: cannot read the provenance (${(e as Error).message})`);
    process.emitWarning(
      `${path} is missing: no record of the images this model trained on, so evaluation cannot refuse them ` +
        `(the training-image guard is off)`,
    );
    return emptyProvenance();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: the provenance is not valid JSON (${(e as Error).message}); refusing to guess`);
  }
  const fail = (what: string): never => {
    throw new Error(`${path}: the provenance is corrupt: ${what}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("expected an object");
  const parts = (json as { parts?: unknown }).parts;
  if (typeof parts !== "object" || parts === null || Array.isArray(parts)) fail("'parts' must be an object");
  const out = emptyProvenance();
  for (const [part, records] of Object.entries(parts as Record<string, unknown>)) {
    if (!PARTS.includes(part as PartName)) fail(`unknown part '${part}' (expected ${PARTS.join(", ")})`);
    if (!Array.isArray(records)) fail(`parts.${part} must be a list of training records`);
    (records as unknown[]).forEach((r, i) => {
      const rec = r as Partial<TrainingRecord> | null;
      const where = `parts.${part}[${i}]`;
      if (typeof rec !== "object" || rec === null) fail(`${where} must be an object`);
      for (const k of ["stage", "dataset", "date"] as const)
        if (typeof rec![k] !== "string") fail(`${where}.${k} must be a string`);
      if (!Array.isArray(rec!.imageIds) || !rec!.imageIds.every((id) => typeof id === "string"))
        fail(`${where}.imageIds must be a list of strings`);
    });
    out.parts[part as PartName] = records as TrainingRecord[];
  }
  return out;
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
