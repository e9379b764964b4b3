// `webgpu-matmul-sweep` (webgpu only, see webgpu-only.ts): every matmul program TF.js 4.22's WebGPU backend
// offers (flag WEBGPU_MATMUL_PROGRAM_TYPE: reduce, split-K, small-output-size, packed; and the packed
// program's two access patterns, which TF.js picks by GPU vendor) over the products ViT-Tiny trains with at
// batch 64 (12,608 tokens, width 192, MLP 768, 3 heads of 64; forward, input and weight gradients, attention)
// and Phi-3-mini runs (hidden 3072, intermediate 8192, vocab 32064; decode M=1, prefill M=512), in GFLOP/s.
// Setup prints one row per shape and the best program, and writes the table and the override rules that
// would pick the winners (for env BIRDVLM_MATMUL_OVERRIDES; split-K is measured but never suggested, as it is
// not deterministic) to $BIRDVLM_MATMUL_SWEEP_JSON when set. Env BIRDVLM_SWEEP_BUDGET_S (default 150) bounds
// the sweep's time on a lent GPU. The timed step runs every shape once with the
// programs BirdVLM picks now: its rate is the sweep's total GFLOP/s.
import { setMatMulOverrides, tf, type MatMulOverride } from "@birdvlm/core";
import { writeFileSync } from "node:fs";
import { defineCase } from "../harness.js";
import { tinyBench, withWebGPUOnly } from "./webgpu-only.js";

interface Shape {
  name: string;
  batch: number;
  M: number;
  N: number;
  K: number;
  transposeA?: boolean;
  transposeB?: boolean;
}

const T = 64 * 197; // ViT-Tiny tokens at batch 64
const SHAPES: Shape[] = [
  { name: "vit.qkv", batch: 1, M: T, N: 576, K: 192 },
  { name: "vit.proj", batch: 1, M: T, N: 192, K: 192 },
  { name: "vit.fc1", batch: 1, M: T, N: 768, K: 192 },
  { name: "vit.fc2", batch: 1, M: T, N: 192, K: 768 },
  { name: "vit.patch", batch: 1, M: 64 * 196, N: 192, K: 768 },
  { name: "vit.head", batch: 1, M: 64, N: 200, K: 192 },
  { name: "vit.fc1.dX", batch: 1, M: T, N: 192, K: 768, transposeB: true },
  { name: "vit.fc2.dX", batch: 1, M: T, N: 768, K: 192, transposeB: true },
  { name: "vit.qkv.dX", batch: 1, M: T, N: 192, K: 576, transposeB: true },
  { name: "vit.fc1.dW", batch: 1, M: 192, N: 768, K: T, transposeA: true },
  { name: "vit.fc2.dW", batch: 1, M: 768, N: 192, K: T, transposeA: true },
  { name: "vit.qkv.dW", batch: 1, M: 192, N: 576, K: T, transposeA: true },
  { name: "vit.attn.scores", batch: 192, M: 197, N: 197, K: 64, transposeB: true },
  { name: "vit.attn.values", batch: 192, M: 197, N: 64, K: 197 },
  { name: "vit.attn.dK", batch: 192, M: 197, N: 64, K: 197, transposeA: true },
  { name: "phi3.decode.qkv", batch: 1, M: 1, N: 9216, K: 3072 },
  { name: "phi3.decode.o", batch: 1, M: 1, N: 3072, K: 3072 },
  { name: "phi3.decode.gate_up", batch: 1, M: 1, N: 16384, K: 3072 },
  { name: "phi3.decode.down", batch: 1, M: 1, N: 3072, K: 8192 },
  { name: "phi3.decode.lm_head", batch: 1, M: 1, N: 32064, K: 3072 },
  { name: "phi3.prefill.qkv", batch: 1, M: 512, N: 9216, K: 3072 },
  { name: "phi3.prefill.o", batch: 1, M: 512, N: 3072, K: 3072 },
  { name: "phi3.prefill.gate_up", batch: 1, M: 512, N: 16384, K: 3072 },
  { name: "phi3.prefill.down", batch: 1, M: 512, N: 3072, K: 8192 },
  { name: "phi3.prefill.lm_head", batch: 1, M: 512, N: 32064, K: 3072 },
];

/** A dry run's shapes: every dimension (batch included) divided by 16. */
function shrink(s: Shape): Shape {
  const d = (x: number) => Math.max(1, Math.ceil(x / 16));
  return { ...s, batch: d(s.batch), M: d(s.M), N: d(s.N), K: d(s.K) };
}

/** How a variant runs: TF.js's program flag, or BirdVLM's dispatch with an override table. */
interface Variant {
  name: string;
  flag?: number;
  overrides?: MatMulOverride[];
  /** Whether the variant applies to a shape (reduce: one workgroup per output element; split-K: batch 1). */
  applies(s: Shape): boolean;
  /** The override rule that picks this variant, where one can. */
  rule?: Pick<MatMulOverride, "program" | "sequentialAccess">;
}

const VARIANTS: Variant[] = [
  { name: "birdvlm", overrides: undefined, applies: () => true },
  { name: "reduce", flag: 0, applies: (s) => s.batch * s.M * s.N <= 65536, rule: { program: "reduce" } },
  { name: "splitK", flag: 1, applies: (s) => s.batch === 1 && s.M * s.N <= 1 << 20 },
  { name: "smallOutput", flag: 2, applies: () => true, rule: { program: "smallOutputSize" } },
  {
    name: "packed",
    overrides: [{ program: "packed", sequentialAccess: false }],
    applies: () => true,
    rule: { program: "packed", sequentialAccess: false },
  },
  {
    name: "packedSeq",
    overrides: [{ program: "packed", sequentialAccess: true }],
    applies: () => true,
    rule: { program: "packed", sequentialAccess: true },
  },
];

const gflop = (s: Shape) => (2 * s.batch * s.M * s.N * s.K) / 1e9;

function operands(s: Shape): [tf.Tensor, tf.Tensor] {
  const a = tf.randomNormal(s.transposeA ? [s.batch, s.K, s.M] : [s.batch, s.M, s.K], 0, 1, "float32", 1);
  const b = tf.randomNormal(s.transposeB ? [s.batch, s.N, s.K] : [s.batch, s.K, s.N], 0, 1, "float32", 2);
  return [a, b];
}

/** Runs `reps` products and waits for the last (the queue is in order), reading back one value. */
async function run(s: Shape, a: tf.Tensor, b: tf.Tensor, reps: number): Promise<number> {
  const t0 = performance.now();
  let last: tf.Tensor | undefined;
  for (let r = 0; r < reps; r++) {
    last?.dispose();
    last = tf.matMul(a, b, s.transposeA, s.transposeB);
  }
  const one = tf.slice(tf.reshape(last!, [-1]), [0], [1]);
  await one.data();
  tf.dispose([one, last!]);
  return (performance.now() - t0) / 1000;
}

/** Seconds the sweep may take (env BIRDVLM_SWEEP_BUDGET_S, default 150); past it, one repetition per variant. */
const budgetSeconds = Number(process.env.BIRDVLM_SWEEP_BUDGET_S ?? 150);
let sweepStart = performance.now();
const overBudget = () => (performance.now() - sweepStart) / 1000 > budgetSeconds;

/** GFLOP/s of one variant on one shape: warm up, size the repetitions to ~0.1 s, median of 3. */
async function measure(s: Shape, v: Variant, a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const env = tf.env();
  setMatMulOverrides(v.overrides ?? []);
  if (v.flag !== undefined) env.set("WEBGPU_MATMUL_PROGRAM_TYPE", v.flag);
  try {
    const once = await run(s, a, b, 1); // compiles the pipeline
    const slow = tinyBench || once > 0.5 || overBudget();
    const reps = slow ? 1 : Math.min(200, Math.max(3, Math.ceil(0.1 / Math.max(once, 1e-5))));
    const times: number[] = [];
    for (let i = 0; i < (slow ? 1 : 3); i++) times.push(await run(s, a, b, reps));
    times.sort((x, y) => x - y);
    return (gflop(s) * reps) / times[times.length >> 1]!;
  } finally {
    env.set("WEBGPU_MATMUL_PROGRAM_TYPE", -1);
    setMatMulOverrides([]);
  }
}

const sweep = defineCase({
  name: "webgpu-matmul-sweep",
  unit: "GFLOP/s",
  warmup: 1,
  runs: 5,
  async setup() {
    sweepStart = performance.now();
    const shapes = tinyBench ? SHAPES.map(shrink) : SHAPES;
    const rows: Array<Shape & { gflops: Record<string, number>; best: string; bestDeterministic: string }> = [];
    const rules: MatMulOverride[] = [];
    const log = (line: string) => process.stderr.write(`${line}\n`);
    log(
      `webgpu-matmul-sweep: GFLOP/s per program${tinyBench ? " (BIRDVLM_BENCH_TINY: shapes / 16)" : ""}; budget ${budgetSeconds} s`,
    );
    log(
      ["shape".padEnd(22), "batch x M x N x K".padEnd(24), ...VARIANTS.map((v) => v.name.padStart(11)), "  best"].join(
        " ",
      ),
    );
    for (const s of shapes) {
      const [a, b] = operands(s);
      const gflops: Record<string, number> = {};
      for (const v of VARIANTS)
        if (v.applies(s) && (v.name === "birdvlm" || !overBudget())) gflops[v.name] = await measure(s, v, a, b);
      tf.dispose([a, b]);
      const ranked = Object.entries(gflops).sort((x, y) => y[1] - x[1]);
      const best = ranked[0]![0];
      const bestDeterministic = ranked.find(([n]) => n !== "splitK")![0];
      rows.push({ ...s, gflops, best, bestDeterministic });
      const dims = `${s.batch}x${s.M}x${s.N}x${s.K}${s.transposeA ? " tA" : ""}${s.transposeB ? " tB" : ""}`;
      log(
        [
          s.name.padEnd(22),
          dims.padEnd(24),
          ...VARIANTS.map((v) => (gflops[v.name] === undefined ? "-" : gflops[v.name]!.toFixed(1)).padStart(11)),
          `  ${best}`,
        ].join(" "),
      );
      const winner = VARIANTS.find((v) => v.name === bestDeterministic)!;
      if (winner.rule && gflops[bestDeterministic]! > 1.1 * gflops.birdvlm!) {
        rules.push({
          name: s.name,
          batch: [s.batch, s.batch],
          M: [s.M, s.M],
          N: [s.N, s.N],
          K: [s.K, s.K],
          transposeA: s.transposeA ?? false,
          transposeB: s.transposeB ?? false,
          ...winner.rule,
        });
      }
    }
    if (overBudget())
      log(
        `webgpu-matmul-sweep: past its ${budgetSeconds} s budget: later shapes measured with fewer repetitions or BirdVLM's pick only`,
      );
    log(
      `suggested BIRDVLM_MATMUL_OVERRIDES (deterministic programs >10% faster than BirdVLM's pick): ${JSON.stringify(rules)}`,
    );
    const out = process.env.BIRDVLM_MATMUL_SWEEP_JSON;
    if (out) {
      writeFileSync(
        out,
        `${JSON.stringify({ tiny: tinyBench, variants: VARIANTS.map((v) => v.name), rows, suggestedOverrides: rules }, null, 2)}\n`,
      );
      log(`wrote ${out}`);
    }
    const ops = shapes.map((s) => ({ s, ab: operands(s) }));
    return {
      async step() {
        let total = 0;
        for (const { s, ab } of ops) {
          await run(s, ab[0], ab[1], 1);
          total += gflop(s);
        }
        return total;
      },
      dispose() {
        for (const { ab } of ops) tf.dispose(ab);
      },
    };
  },
});

export default withWebGPUOnly([sweep]);
