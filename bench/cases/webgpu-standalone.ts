// The GPU table's runner for a machine without the repository's toolchain (the lent GPU machine: no pnpm,
// no tsx): `scripts/gpu-bench.sh build` bundles this file with esbuild into one ES module, which runs with
// env BIRDVLM_STANDALONE_BENCH=1 as `node bench.mjs [--only a,b] [--runs n] [--json file]`. Like `pnpm bench`
// (bench/run.ts), it runs each case in a child process (warm-up, then at least 5 timed runs; median, min,
// max, peak RSS) and prints the same table; the cases are the webgpu ones of vit.ts, phi3.ts and
// webgpu-matmul.ts, imported statically. Under `pnpm bench` this file is an empty case list.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Phi3ForCausalLM } from "@birdvlm/phi3";
import { defineCase, type BenchCase } from "../harness.js";
import { measureCase, type BenchResult } from "../measure.js";
import phi3Cases from "./phi3.js";
import vitCases from "./vit.js";
import matmulCases from "./webgpu-matmul.js";
import { tinyBench } from "./webgpu-only.js";

/** The cases the GPU table runs by default, in this order. */
export const GPU_TABLE = ["vit-train-b64", "vit-infer-b64", "phi3-decode", "webgpu-matmul-sweep"];
const TAG = "BENCH_RESULT ";

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * A dry run's `phi3-decode` (`--tiny`): phi3.ts's generate loop on a small Phi-3 (hidden 64, 2 layers, vocab
 * 512), 16-token prompt, 8 new tokens, so that lavapipe checks the path in seconds.
 */
const tinyDecode = defineCase({
  name: "phi3-decode",
  unit: "tok/s",
  async setup() {
    const lm = new Phi3ForCausalLM(
      {
        vocabSize: 512,
        hiddenSize: 64,
        intermediateSize: 128,
        numHiddenLayers: 2,
        numAttentionHeads: 4,
        numKeyValueHeads: 4,
        maxPositionEmbeddings: 256,
      },
      { seed: 1 },
    );
    const prompt = Array.from({ length: 16 }, (_, i) => 3 + ((i * 37) % 500));
    return {
      async step() {
        const [out] = await lm.generate([prompt], { maxNewTokens: 8 });
        if (out!.length !== 8) throw new Error(`phi3-decode (tiny): generated ${out!.length} tokens, expected 8`);
        return 8;
      },
      dispose: () => lm.dispose(),
    };
  },
});

/** Child: runs one case on webgpu and prints its result line. */
async function child(c: BenchCase, runsWanted: number | undefined): Promise<void> {
  const { initBackend } = await import("@birdvlm/core");
  const info = await initBackend("webgpu");
  process.stderr.write(`${c.name} on ${info.name}: ${JSON.stringify(info.details ?? {})}\n`);
  const result = await measureCase(c, info, runsWanted);
  process.stdout.write(`${TAG}${JSON.stringify(result)}\n`);
}

/** Parent: runs the selected cases one child each, prints the table, writes the JSON. */
function parent(cases: BenchCase[], names: string[], runs: number | undefined, json: string | undefined): void {
  const results: BenchResult[] = [];
  const failed: string[] = [];
  for (const name of names) {
    if (!cases.some((c) => c.name === name))
      throw new Error(`gpu bench: no case '${name}' (known: ${cases.map((c) => c.name).join(", ")})`);
    const args = [
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      "--child",
      name,
      ...(runs ? ["--runs", String(runs)] : []),
    ];
    process.stderr.write(`gpu bench: ${name}...\n`);
    const r = spawnSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 << 20,
    });
    const line = r.stdout.split("\n").find((l) => l.startsWith(TAG));
    if (r.status !== 0 || !line) {
      failed.push(name);
      process.stderr.write(`gpu bench: ${name} failed (exit ${r.status ?? r.signal})\n${r.stdout}`);
      continue;
    }
    results.push(JSON.parse(line.slice(TAG.length)) as BenchResult);
  }
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  console.log(
    [
      "case".padEnd(22),
      "unit".padEnd(8),
      "median".padStart(8),
      "min".padStart(8),
      "max".padStart(8),
      "runs".padStart(5),
      "  peak RSS MiB",
    ].join(" "),
  );
  for (const r of results) {
    console.log(
      [
        r.case.padEnd(22),
        r.unit.padEnd(8),
        f(r.median).padStart(8),
        f(r.min).padStart(8),
        f(r.max).padStart(8),
        String(r.runs).padStart(5),
        `  ${r.peakRssMiB}`,
      ].join(" "),
    );
  }
  if (json) {
    writeFileSync(resolve(json), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${resolve(json)}`);
  }
  if (failed.length) {
    console.error(`gpu bench: ${failed.length} case(s) failed: ${failed.join(", ")}`);
    process.exitCode = 1;
  }
}

if (process.env.BIRDVLM_STANDALONE_BENCH === "1") {
  process.env.BIRDVLM_BACKEND = "webgpu";
  const cases = [...vitCases, ...(tinyBench ? [tinyDecode] : phi3Cases), ...matmulCases];
  const runs = argument("--runs") ? Number(argument("--runs")) : undefined;
  const name = argument("--child");
  if (name)
    await child(
      cases.find((c) => c.name === name)!,
      runs,
    );
  else parent(cases, (argument("--only") ?? GPU_TABLE.join(",")).split(","), runs, argument("--json"));
}

export default [] as BenchCase[];
