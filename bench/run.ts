// `pnpm bench [--only <prefix>] [--backend <name>] [--json <file>] [--runs <n>]`
//
// Discovers `bench/cases/*.ts` (contract in `harness.ts`) and runs each case in its own child process, so the
// peak RSS reported is that case's own. Each child initializes the backend, builds the case, warms up, times
// at least 5 runs and prints one result line; the parent prints a table and optionally writes JSON.
import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import "../scripts/tfjs-resolve-hook.js";
import type { BenchCase } from "./harness.js";
import { measureCase, type BenchResult } from "./measure.js";

interface Options {
  only?: string;
  backend?: string;
  json?: string;
  runs?: number;
  child?: { file: string; name: string };
}

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, "cases");
const RESULT_TAG = "BENCH_RESULT ";

function parseArgs(argv: string[]): Options {
  const opts: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${a} needs a value`);
      return v;
    };
    if (a === "--only") opts.only = value();
    else if (a === "--backend") opts.backend = value();
    else if (a === "--json") opts.json = value();
    else if (a === "--runs") opts.runs = Number(value());
    else if (a === "--child") opts.child = { file: value(), name: value() };
    else if (a === "--") continue;
    else throw new Error(`bench: unknown argument '${a}' (expected --only, --backend, --json, --runs)`);
  }
  return opts;
}

async function loadCases(file: string): Promise<BenchCase[]> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: BenchCase | BenchCase[] };
  const d = mod.default;
  if (!d) throw new Error(`bench: ${file} has no default export (a BenchCase or an array of them)`);
  return Array.isArray(d) ? d : [d];
}

/** Child side: measures one case and prints its result line. */
async function runChild(file: string, name: string, opts: Options): Promise<void> {
  const { initBackend } = await import("@birdvlm/core");
  const info = await initBackend((opts.backend ?? process.env.BIRDVLM_BACKEND ?? "auto") as never);
  const c = (await loadCases(file)).find((x) => x.name === name);
  if (!c) throw new Error(`bench: case '${name}' not found in ${file}`);
  const result = await measureCase(c, info, opts.runs);
  process.stdout.write(`${RESULT_TAG}${JSON.stringify(result)}\n`);
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function printTable(results: BenchResult[]): void {
  const rows = [
    ["case", "unit", "median", "min", "max", "runs", "backend", "threads", "peak RSS MiB", "CPU s/run"],
    ...results.map((r) => [
      r.case,
      r.unit,
      fmt(r.median),
      fmt(r.min),
      fmt(r.max),
      String(r.runs),
      r.backend,
      r.threads === null ? "-" : String(r.threads),
      String(r.peakRssMiB),
      r.cpuSecondsPerRun.toFixed(3),
    ]),
  ];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  for (const [i, r] of rows.entries()) {
    console.log(
      r.map((cell, j) => ((j >= 2 && j <= 5) || j >= 8 ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}

/** Parent side: lists the cases, runs each in a child process, prints the table, writes JSON. */
async function runAll(opts: Options): Promise<void> {
  const files = readdirSync(casesDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .sort();
  const selected: { file: string; name: string }[] = [];
  for (const f of files) {
    const file = join(casesDir, f);
    for (const c of await loadCases(file)) {
      if (!opts.only || c.name.startsWith(opts.only)) selected.push({ file, name: c.name });
    }
  }
  if (selected.length === 0) throw new Error(`bench: no case matches '${opts.only ?? ""}' in ${casesDir}`);
  const results: BenchResult[] = [];
  const failed: string[] = [];
  for (const s of selected) {
    const args = [...process.execArgv, fileURLToPath(import.meta.url), "--child", s.file, s.name];
    if (opts.backend) args.push("--backend", opts.backend);
    if (opts.runs) args.push("--runs", String(opts.runs));
    process.stderr.write(`bench: ${s.name} (${basename(s.file)})...\n`);
    const child = spawnSync(process.execPath, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 << 20,
    });
    const line = child.stdout.split("\n").find((l) => l.startsWith(RESULT_TAG));
    if (child.status !== 0 || !line) {
      failed.push(s.name);
      process.stderr.write(`bench: ${s.name} failed (exit ${child.status ?? child.signal})\n${child.stdout}`);
      continue;
    }
    const r = JSON.parse(line.slice(RESULT_TAG.length)) as BenchResult;
    results.push(r);
    process.stderr.write(`bench: ${r.case} ${fmt(r.median)} ${r.unit} on ${r.backend} (${r.threads ?? "-"} threads)\n`);
  }
  const backends = [...new Set(results.map((r) => `${r.backend} (${r.threads ?? "-"} threads)`))];
  console.log(`backend: ${backends.join(", ") || "-"}`);
  printTable(results);
  if (opts.json) {
    writeFileSync(resolve(opts.json), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`wrote ${resolve(opts.json)}`);
  }
  if (failed.length) {
    console.error(`bench: ${failed.length} case(s) failed: ${failed.join(", ")}`);
    process.exitCode = 1;
  }
}

const opts = parseArgs(process.argv.slice(2));
if (opts.child) await runChild(opts.child.file, opts.child.name, opts);
else await runAll(opts);
