import { describe, expect, it } from "vitest";
import { formatFlags, parseFlags, UsageError, type FlagSpecs } from "./flags.js";

const specs: FlagSpecs = {
  out: { type: "string", value: "<dir>", required: true, help: "output" },
  epochs: { type: "number", min: 0, default: 2, help: "epochs" },
  rank: { type: "integer", min: 1, help: "rank" },
  mode: { type: "string", choices: ["a", "b"], help: "mode" },
  pair: {
    type: "string",
    help: "two numbers",
    parse: (s) => {
      const p = s.split(",").map(Number);
      if (p.length !== 2) throw new Error("expected a,b");
      return p;
    },
  },
  fast: { type: "boolean", short: "f", help: "go fast" },
};

const usage = (argv: string[]) => {
  try {
    parseFlags(specs, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("no usage error");
};

describe("parseFlags", () => {
  it("reads values, switches, positionals and defaults", () => {
    const r = parseFlags(specs, ["--out", "x", "img.png", "--epochs=3.5", "-f", "--pair", "1,2", "--", "--out"]);
    expect(r.values).toEqual({ out: "x", epochs: 3.5, rank: undefined, mode: undefined, pair: [1, 2], fast: true });
    expect(r.positionals).toEqual(["img.png", "--out"]);
    expect(parseFlags(specs, ["--out", "x"]).values).toMatchObject({ epochs: 2, fast: false });
  });

  it("names the flag in every mistake", () => {
    expect(usage(["--out", "x", "--epoch", "3"])).toBe("unknown flag --epoch");
    expect(usage(["--epochs", "3"])).toBe("--out is required");
    expect(usage(["--out"])).toBe("--out needs a value (<dir>)");
    expect(usage(["--out", "x", "--epochs", "many"])).toBe("--epochs must be a number, got 'many'");
    expect(usage(["--out", "x", "--epochs", "-1"])).toBe("--epochs must be at least 0, got -1");
    expect(usage(["--out", "x", "--rank", "1.5"])).toBe("--rank must be a whole number, got '1.5'");
    expect(usage(["--out", "x", "--mode", "c"])).toBe("--mode must be one of a, b; got 'c'");
    expect(usage(["--out", "x", "--pair", "1"])).toBe("--pair: expected a,b");
    expect(usage(["--out", "x", "--fast=yes"])).toBe("--fast is a switch and takes no value");
  });

  it("stops at --help without checking the rest", () => {
    expect(parseFlags(specs, ["--nope", "--help"]).help).toBe(true);
  });

  it("lists every flag with its value, help and default", () => {
    const text = formatFlags(specs);
    expect(text).toMatch(/--out <dir> +output \(required\)/);
    expect(text).toMatch(/--epochs <n> +epochs \(default 2\)/);
    expect(text).toMatch(/-f, --fast +go fast/);
    expect(text).toMatch(/-h, --help +this help/);
  });
});
