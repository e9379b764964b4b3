/**
 * Which TF.js WebGPU matmul program runs a product. TF.js 4.22 picks `MatMulSplitKProgram` for a single
 * product with few output tiles and a long inner dimension (K >= 2000: e.g. a weight gradient `xᵀ dy` over
 * B·T = 64·197 tokens); that program adds partial sums with atomics, in no fixed order, so a training step
 * is not reproducible bit for bit (a resumed run drifts from an uninterrupted one). BirdVLM replaces it with
 * `MatMulSmallOutputSizeProgram`, the program TF.js itself uses for the same few-tile case below K = 2000.
 *
 * On top of that rule, an override table picks the program per class of shapes (ViT-Tiny's, Phi-3's decode
 * and prefill...), as measured on a GPU by the bench case `webgpu-matmul-sweep`: {@link setMatMulOverrides},
 * or env `BIRDVLM_MATMUL_OVERRIDES` (a JSON array of {@link MatMulOverride}, or the path of a JSON file
 * holding one). The table is empty by default.
 */
import { envVar } from "../../environment.js";

/** TF.js's `MatMulProgramType` values (webgpu_util.ts). */
export const MatMulProgram = { reduce: 0, splitK: 1, smallOutputSize: 2, packed: 3 } as const;

/** A program an override may name: every one but the non-deterministic split-K. */
export type DeterministicMatMulProgram = "reduce" | "smallOutputSize" | "packed";

/** The program TF.js 4.22 would pick for `[batch, M, K] x [batch, K, N]` (its `batchMatMulImpl` rule). */
export function tfjsMatMulChoice(batch: number, M: number, N: number, K: number, threshold: number): number {
  const tiles = batch * Math.ceil(M / 32) * Math.ceil(N / 32);
  const fewTiles = tiles <= threshold || (M <= 8 && tiles <= threshold * 2);
  if (!fewTiles) return MatMulProgram.packed;
  if (batch * M * N <= 128) return MatMulProgram.reduce;
  if (batch === 1 && K >= 2000) return MatMulProgram.splitK;
  return MatMulProgram.smallOutputSize;
}

/** The program BirdVLM runs without overrides: TF.js's choice, but never the non-deterministic split-K. */
export function birdvlmMatMulChoice(batch: number, M: number, N: number, K: number, threshold: number): number {
  const choice = tfjsMatMulChoice(batch, M, N, K, threshold);
  return choice === MatMulProgram.splitK ? MatMulProgram.smallOutputSize : choice;
}

/** `[batch, M, N, K]` of `a x b` with TF.js's transpose flags (batch: the larger of the two batch sizes). */
export function matMulDims(
  a: number[],
  b: number[],
  transposeA: boolean,
  transposeB: boolean,
): [number, number, number, number] {
  const size = (s: number[]) => s.slice(0, -2).reduce((x, y) => x * y, 1);
  const M = transposeA ? a[a.length - 1] : a[a.length - 2];
  const K = transposeA ? a[a.length - 2] : a[a.length - 1];
  const N = transposeB ? b[b.length - 2] : b[b.length - 1];
  return [Math.max(size(a), size(b)), M, N, K];
}

/** One product's shape: `[batch, M, K] x [batch, K, N]`, with TF.js's transpose flags. */
export interface MatMulShape {
  batch: number;
  M: number;
  N: number;
  K: number;
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * A rule of the override table: products whose dimensions lie in the given inclusive ranges (`[min, max]`;
 * an unset field matches anything) and transpose flags run `program`. The first matching rule wins.
 */
export interface MatMulOverride {
  /** The shape class, for reports (e.g. `"phi3-decode"`). */
  name?: string;
  batch?: [number, number];
  M?: [number, number];
  N?: [number, number];
  K?: [number, number];
  transposeA?: boolean;
  transposeB?: boolean;
  program: DeterministicMatMulProgram;
  /** Packed program only: threads read consecutive elements (TF.js does so on Intel GPUs alone). */
  sequentialAccess?: boolean;
}

/** What runs a product: a `MatMulProgram` value, the packed program's access pattern, and the rule that chose. */
export interface MatMulPick {
  program: number;
  sequentialAccess?: boolean;
  rule?: string;
}

const ENV = "BIRDVLM_MATMUL_OVERRIDES";
let overrides: MatMulOverride[] | undefined;

/** Checks a table, throwing with `source` and the rule's index on the first bad field. */
function checkOverrides(list: unknown, source: string): MatMulOverride[] {
  if (!Array.isArray(list)) throw new Error(`${source}: expected an array of matmul overrides`);
  list.forEach((r: Record<string, unknown>, i) => {
    const where = `${source}: override ${i}${typeof r?.name === "string" ? ` ('${r.name}')` : ""}`;
    if (typeof r !== "object" || r === null) throw new Error(`${where} is not an object`);
    if (!["reduce", "smallOutputSize", "packed"].includes(r.program as string)) {
      throw new Error(
        `${where}: program must be "reduce", "smallOutputSize" or "packed" (split-K is not deterministic), got ${JSON.stringify(r.program)}`,
      );
    }
    for (const k of ["batch", "M", "N", "K"]) {
      const range = r[k];
      if (
        range !== undefined &&
        !(
          Array.isArray(range) &&
          range.length === 2 &&
          range.every((x) => typeof x === "number") &&
          range[0] <= range[1]
        )
      ) {
        throw new Error(`${where}: ${k} must be [min, max], got ${JSON.stringify(range)}`);
      }
    }
    for (const k of ["transposeA", "transposeB", "sequentialAccess"]) {
      if (r[k] !== undefined && typeof r[k] !== "boolean") throw new Error(`${where}: ${k} must be a boolean`);
    }
    const known = new Set(["name", "batch", "M", "N", "K", "transposeA", "transposeB", "program", "sequentialAccess"]);
    const extra = Object.keys(r).filter((k) => !known.has(k));
    if (extra.length) throw new Error(`${where}: unknown field(s) ${extra.join(", ")}`);
  });
  return list as MatMulOverride[];
}

let readTextFile: ((path: string) => string) | undefined;

/** Lets env `BIRDVLM_MATMUL_OVERRIDES` name a JSON file: Node's webgpu backend passes `fs.readFileSync` here. */
export function setMatMulOverridesFileReader(read: (path: string) => string): void {
  readTextFile = read;
}

/**
 * Parses a value of env `BIRDVLM_MATMUL_OVERRIDES`: a JSON array of rules, or the path of a JSON file (read with
 * `readFile`, by default the reader Node's webgpu backend installed; `null`: no reader, as in a page); none when
 * empty.
 */
export function parseMatMulOverridesEnv(
  value: string | undefined,
  readFile: ((path: string) => string) | null = readTextFile ?? null,
): MatMulOverride[] {
  const raw = value?.trim();
  if (!raw) return [];
  if (!raw.startsWith("[") && !readFile) throw new Error(`env ${ENV}: a file path needs Node's webgpu backend`);
  const text = raw.startsWith("[") ? raw : readFile!(raw);
  const source = raw.startsWith("[") ? `env ${ENV}` : `${raw} (env ${ENV})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  return checkOverrides(parsed, source);
}

/** Replaces the override table (checked; throws on a bad rule). `[]` restores TF.js's choice minus split-K. */
export function setMatMulOverrides(list: MatMulOverride[]): void {
  overrides = checkOverrides(list, "setMatMulOverrides");
}

/** The override table in force (read from env `BIRDVLM_MATMUL_OVERRIDES` on first use). */
export function matMulOverrides(): readonly MatMulOverride[] {
  overrides ??= parseMatMulOverridesEnv(envVar(ENV));
  return overrides;
}

function inRange(x: number, range: [number, number] | undefined): boolean {
  return range === undefined || (x >= range[0] && x <= range[1]);
}

/** Whether `rule` covers `s`. */
export function overrideMatches(rule: MatMulOverride, s: MatMulShape): boolean {
  return (
    inRange(s.batch, rule.batch) &&
    inRange(s.M, rule.M) &&
    inRange(s.N, rule.N) &&
    inRange(s.K, rule.K) &&
    (rule.transposeA === undefined || rule.transposeA === s.transposeA) &&
    (rule.transposeB === undefined || rule.transposeB === s.transposeB)
  );
}

/** The program for `s`: the first matching override, else {@link birdvlmMatMulChoice}. */
export function chooseMatMul(s: MatMulShape, threshold: number): MatMulPick {
  const rule = matMulOverrides().find((r) => overrideMatches(r, s));
  if (rule)
    return {
      program: MatMulProgram[rule.program],
      sequentialAccess: rule.sequentialAccess,
      rule: rule.name ?? "unnamed",
    };
  return { program: birdvlmMatMulChoice(s.batch, s.M, s.N, s.K, threshold) };
}
