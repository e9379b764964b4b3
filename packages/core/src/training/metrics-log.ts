import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { namingDiskFull, writeFileAtomic } from "../io/atomic.js";

/**
 * One line of a training metrics file. `kind` says what produced it: `train` (a log interval: mean loss,
 * learning rate, gradient norm, throughput) or `eval` (the user's evaluation metrics). Every numeric field
 * besides `step`, `epoch` and `time` is a metric that the curves can plot.
 */
export interface MetricsRecord {
  /** `train`: a log interval; `eval`: an evaluation. */
  kind: "train" | "eval";
  /** Optimizer step the record belongs to (1-based: after that many steps). */
  step: number;
  /** Epoch (0-based) in progress. */
  epoch: number;
  /** Seconds since the run started (wall clock, across resumes). */
  time: number;
  [metric: string]: number | string;
}

/**
 * An append-only JSON Lines file of {@link MetricsRecord}s (one JSON object per line), the format
 * `pandas.read_json(path, lines=True)` reads.
 */
export class MetricsLog {
  /** `path`: the `.jsonl` file (its folder is created). */
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** Appends one record as a line (a full disk is an error naming the file). */
  append(record: MetricsRecord): void {
    try {
      appendFileSync(this.path, `${JSON.stringify(record)}\n`, "utf8");
    } catch (e) {
      throw namingDiskFull(e, this.path, "appending to");
    }
  }

  /** Every record in the file (empty when it does not exist). A malformed line is an error naming the line. */
  read(): MetricsRecord[] {
    return readMetrics(this.path);
  }

  /**
   * Drops the records after `step` (rewriting the file atomically): a resumed run repeats those steps, so
   * their old lines would be duplicates; a partial last line (an append cut short, e.g. by a full disk) goes
   * too. Returns the records kept.
   */
  async truncateAfter(step: number): Promise<MetricsRecord[]> {
    const { records: all, partial } = parseMetrics(this.path);
    const kept = all.filter((r) => r.step <= step);
    if (kept.length !== all.length || partial) {
      const text = kept.map((r) => `${JSON.stringify(r)}\n`).join("");
      await writeFileAtomic(this.path, (h) => h.writeFile(text, "utf8"));
    }
    return kept;
  }
}

/**
 * Reads a metrics JSONL file; `[]` when it does not exist. A last line without its newline that is not JSON is
 * an append cut short (a killed process, a full disk) and is left out; a bad line anywhere else is an error
 * naming it.
 */
export function readMetrics(path: string): MetricsRecord[] {
  return parseMetrics(path).records;
}

/** The records of a metrics file, and whether its last line was a partial append (left out). */
function parseMetrics(path: string): { records: MetricsRecord[]; partial: boolean } {
  if (!existsSync(path)) return { records: [], partial: false };
  const lines = readFileSync(path, "utf8").split("\n");
  const out: MetricsRecord[] = [];
  let partial = false;
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      // the text after the last newline: an append that never finished
      if (i === lines.length - 1) return void (partial = true);
      throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    const rec = r as Partial<MetricsRecord>;
    if (
      typeof rec !== "object" ||
      rec === null ||
      typeof rec.step !== "number" ||
      (rec.kind !== "train" && rec.kind !== "eval")
    ) {
      throw new Error(`${path}:${i + 1}: not a metrics record (needs kind 'train'|'eval' and a numeric step)`);
    }
    out.push(rec as MetricsRecord);
  });
  return { records: out, partial };
}
