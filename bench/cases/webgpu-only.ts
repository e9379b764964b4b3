// Cases that run only on the webgpu backend (a GPU's shapes, too slow elsewhere), or when `--only` asks for
// them by a prefix that selects none of the file's other cases (`--only vit-train-b64`, `--only webgpu-`).
// `BIRDVLM_BENCH_TINY=1` shrinks their shapes for a dry run on a software adapter (lavapipe).
import type { BenchCase } from "../harness.js";

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** `cases` plus the `gated` ones when the bench runs on webgpu or `--only` names them alone (see the file comment). */
export function withWebGPUOnly(gated: BenchCase[], cases: BenchCase[] = []): BenchCase[] {
  if (process.argv.includes("--child")) return [...cases, ...gated]; // the runner's child looks its case up by name
  const backend = argument("--backend") ?? process.env.BIRDVLM_BACKEND;
  if (backend === "webgpu") return [...cases, ...gated];
  const only = argument("--only");
  const asked =
    only !== undefined && gated.some((c) => c.name.startsWith(only)) && !cases.some((c) => c.name.startsWith(only));
  return asked ? [...cases, ...gated] : cases;
}

/** True when `BIRDVLM_BENCH_TINY=1`: gated cases run at small shapes and few repetitions (a dry run). */
export const tinyBench = process.env.BIRDVLM_BENCH_TINY === "1";

export default [] as BenchCase[];
