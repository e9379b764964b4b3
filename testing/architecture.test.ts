// The house rules, read from the imports of every non-test source file under packages/*/src (TypeScript's own
// `preProcessFile`, which sees `import`, `import type`, `export ... from`, `import()` and `require()`):
//   (a) no import circle between files;
//   (b) a package imports only the layers below it: core <- data, vit, projector, phi3 <- vlm (no sibling imports);
//   (c) no non-test source file over 400 lines.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const packagesDir = join(repoRoot, "packages");

/** Each package's layer: a package may import packages of lower layers only. */
const LAYERS: Record<string, number> = { core: 0, data: 1, vit: 1, projector: 1, phi3: 1, vlm: 2 };
const MAX_LINES = 400;

interface SourceFile {
  /** Path relative to the repository root, with `/`. */
  path: string;
  pkg: string;
  lines: number;
  imports: string[];
}

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (
      /\.(ts|mts|cts|tsx)$/.test(entry.name) &&
      !/\.test\.[cm]?tsx?$/.test(entry.name) &&
      !/\.d\.ts$/.test(entry.name)
    )
      out.push(full);
  }
  return out;
}

function readSources(): SourceFile[] {
  const files: SourceFile[] = [];
  for (const pkg of readdirSync(packagesDir).sort()) {
    const src = join(packagesDir, pkg, "src");
    if (!existsSync(src)) continue;
    for (const full of listSources(src).sort()) {
      const text = readFileSync(full, "utf8");
      const info = ts.preProcessFile(text, true, true);
      files.push({
        path: relative(repoRoot, full).split("\\").join("/"),
        pkg,
        lines: text.split("\n").length - (text.endsWith("\n") ? 1 : 0),
        imports: info.importedFiles.map((f) => f.fileName),
      });
    }
  }
  return files;
}

/** The package a `@birdvlm/<name>` specifier names (`@birdvlm/core-<platform>` is core's own addon package). */
function packageOfSpecifier(spec: string): string | undefined {
  const m = /^@birdvlm\/([^/]+)/.exec(spec);
  if (!m) return undefined;
  const name = m[1]!;
  return name.startsWith("core-") ? "core" : name;
}

/** The repository path a relative specifier points to (`./x.js` -> `x.ts`, `./dir` -> `dir/index.ts`), if it exists. */
function resolveRelative(from: string, spec: string, known: Set<string>): string | undefined {
  const base = join(dirname(from), spec).split("\\").join("/");
  const stem = base.replace(/\.(c|m)?js$/, "");
  for (const candidate of [base, `${stem}.ts`, `${stem}.mts`, `${stem}.cts`, `${stem}.tsx`, `${base}/index.ts`])
    if (known.has(candidate)) return candidate;
  return undefined;
}

const sources = readSources();
const known = new Set(sources.map((f) => f.path));
const pkgOfPath = (path: string) => path.split("/")[1]!;

/** File -> files it imports (a package import goes to that package's `src/index.ts`). */
const graph = new Map<string, string[]>();
for (const f of sources) {
  const targets = new Set<string>();
  for (const spec of f.imports) {
    if (spec.startsWith(".")) {
      const target = resolveRelative(f.path, spec, known);
      if (target) targets.add(target);
    } else {
      const pkg = packageOfSpecifier(spec);
      const index = pkg && `packages/${pkg}/src/index.ts`;
      if (index && known.has(index)) targets.add(index);
    }
  }
  graph.set(f.path, [...targets].sort());
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function importCircles(): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return components;
}

/** One cycle inside a strongly connected component, as `a -> b -> ... -> a` (shortest back to the first file). */
function oneCycle(component: string[]): string {
  const inside = new Set(component);
  const start = component[0]!;
  // breadth-first from start's successors back to start, inside the component
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x: string | undefined = v; x !== undefined && x !== start; x = previous.get(x)) path.splice(1, 0, x);
        return [...path, start].join(" -> ");
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return component.join(", ");
}

describe("architecture (imports of packages/*/src)", () => {
  it("reads every package's sources", () => {
    for (const pkg of Object.keys(LAYERS)) expect(sources.some((f) => f.pkg === pkg)).toBe(true);
    expect(graph.get("packages/vlm/src/index.ts")!.length).toBeGreaterThan(5);
  });

  it("has no import circle between files", () => {
    const circles = importCircles().map((c) =>
      c.length > 2 ? `${oneCycle(c)}   (${c.length} files in the circle: ${c.join(", ")})` : oneCycle(c),
    );
    expect(circles, `import circles:\n${circles.join("\n")}`).toEqual([]);
  });

  it("imports only downward: core <- data, vit, projector, phi3 <- vlm, never a sibling or a layer above", () => {
    const wrong: string[] = [];
    for (const f of sources) {
      const layer = LAYERS[f.pkg];
      if (layer === undefined) continue;
      for (const spec of f.imports) {
        const target = spec.startsWith(".")
          ? (() => {
              const path = resolveRelative(f.path, spec, known);
              return path && pkgOfPath(path);
            })()
          : packageOfSpecifier(spec);
        if (!target || target === f.pkg) continue;
        const targetLayer = LAYERS[target];
        if (targetLayer === undefined) wrong.push(`${f.path} imports '${spec}', a package outside the layers`);
        else if (targetLayer === layer) wrong.push(`${f.path} imports its sibling '${spec}'`);
        else if (targetLayer > layer) wrong.push(`${f.path} imports '${spec}' from a layer above`);
      }
    }
    expect(wrong, wrong.join("\n")).toEqual([]);
  });

  it(`has no non-test source file over ${MAX_LINES} lines`, () => {
    const long = sources.filter((f) => f.lines > MAX_LINES).map((f) => `${f.path}: ${f.lines} lines`);
    expect(long, long.join("\n")).toEqual([]);
  });
});

describe("the architecture checks themselves", () => {
  it("see type-only imports, re-exports, import() and require()", () => {
    const info = ts.preProcessFile(
      `import type { A } from "./a.js";\nexport { B } from "./b.js";\nconst c = await import("./c.js");\nconst d = require("./d.js");\n`,
      true,
      true,
    );
    expect(info.importedFiles.map((f) => f.fileName)).toEqual(["./a.js", "./b.js", "./c.js", "./d.js"]);
  });

  it("resolve .js specifiers to .ts files and folders to their index.ts", () => {
    const set = new Set(["packages/x/src/a.ts", "packages/x/src/dir/index.ts"]);
    expect(resolveRelative("packages/x/src/b.ts", "./a.js", set)).toBe("packages/x/src/a.ts");
    expect(resolveRelative("packages/x/src/sub/b.ts", "../dir", set)).toBe("packages/x/src/dir/index.ts");
    expect(resolveRelative("packages/x/src/b.ts", "./missing.js", set)).toBeUndefined();
  });
});
