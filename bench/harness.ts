// The contract of a `pnpm bench` case. Each case is a file `bench/cases/<name>.ts` whose default export is a
// `BenchCase` (or an array of them). The runner (`bench/run.ts`) warms up, times `runs` calls of `step`,
// and reports the median of units per second, the backend and the peak RSS.

/** One prepared benchmark: `step()` does one timed run and returns how many units it processed. */
export interface PreparedCase {
  /** One timed run; returns the units processed (images, tokens, or GFLOP for matmuls). */
  step(): Promise<number> | number;
  /** Frees what `setup` made. */
  dispose?(): void | Promise<void>;
}

/** A benchmark case. */
export interface BenchCase {
  /** Case name, e.g. `matmul-plain`, `vit-train`; `--only <prefix>` filters on it. */
  name: string;
  /** Unit of the reported rate, e.g. `GFLOP/s`, `img/s`, `tok/s`. */
  unit: string;
  /** Untimed runs before measuring. Default 1. */
  warmup?: number;
  /** Timed runs (at least 5). Default 5. */
  runs?: number;
  /** Builds models and inputs (untimed). */
  setup(): Promise<PreparedCase>;
}

/** Helper for case files: returns its argument with the type checked. */
export function defineCase(c: BenchCase): BenchCase {
  return c;
}
