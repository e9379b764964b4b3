// Measures one bench case in this process: warm-up, at least 5 timed runs, median / min / max rate, CPU time and
// peak RSS. `bench/run.ts` and the device bundle (`cases/webgpu-standalone.ts`) both call it in their children.
import type { BenchCase } from "./harness.js";

/** One measured case, as written to `--json`. Rates are units per second. */
export interface BenchResult {
  case: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  backend: string;
  threads: number | null;
  peakRssMiB: number;
  /** Median process CPU seconds (all threads) per timed run: a machine busy with other work slows the wall clock, not this. */
  cpuSecondsPerRun: number;
}

/** Median, minimum and maximum of a non-empty list. */
export function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2, min: s[0]!, max: s[s.length - 1]! };
}

/** Sets the case up, warms it up, times `max(5, runs)` steps and frees it. */
export async function measureCase(
  c: BenchCase,
  backend: { name: string; threads?: number },
  runsWanted?: number,
): Promise<BenchResult> {
  const prepared = await c.setup();
  for (let i = 0; i < (c.warmup ?? 1); i++) await prepared.step();
  const runs = Math.max(5, runsWanted ?? c.runs ?? 5);
  const rates: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const units = await prepared.step();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const used = process.cpuUsage(c0);
    rates.push(units / seconds);
    cpu.push((used.user + used.system) / 1e6);
  }
  await prepared.dispose?.();
  return {
    case: c.name,
    unit: c.unit,
    ...stats(rates),
    runs,
    backend: backend.name,
    threads: backend.threads ?? null,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSecondsPerRun: stats(cpu).median,
  };
}
