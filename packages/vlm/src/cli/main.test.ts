import { describe, expect, it } from "vitest";
import { usageOf } from "./command.js";
import { runCli, type CliIO } from "./main.js";
import { COMMANDS } from "./registry.js";

/** Runs the CLI with captured output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "",
    err = "";
  const io: CliIO = {
    log: (l) => (out += l + "\n"),
    write: (t) => (out += t),
    error: (l) => (err += l + "\n"),
  };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe("birdvlm commands", () => {
  it("has the nine commands, each with a usage that starts with its own name and lists --help and --backend", () => {
    expect(COMMANDS.map((c) => c.name)).toEqual([
      "demo",
      "synth",
      "train-vit",
      "align",
      "instruct",
      "ask",
      "eval",
      "inspect",
      "attention",
    ]);
    for (const c of COMMANDS) {
      const usage = usageOf(c);
      expect(usage.startsWith(`birdvlm ${c.name}`)).toBe(true);
      expect(usage).toContain("--help");
      expect(usage).toContain("--backend <name>");
      for (const flag of Object.keys(c.flags)) expect(usage).toContain(`--${flag}`);
    }
  });

  it("prints usage and exits 0 for --help, of the CLI and of each command", async () => {
    const main = await cli("--help");
    expect(main.code).toBe(0);
    for (const c of COMMANDS) expect(main.out).toContain(`  ${c.name} `);
    for (const c of COMMANDS) {
      const r = await cli(c.name, "--help");
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe(usageOf(c));
    }
    // --help wins over anything else on the line, even mistakes
    expect((await cli("eval", "--nope", "-h")).code).toBe(0);
  });

  it("says which option is missing and where to look, with exit code 2 and before any work", async () => {
    const missing = await cli("eval");
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("birdvlm eval: --model is required (see 'birdvlm eval --help')");
    expect(missing.out).not.toContain("backend:"); // nothing started
    const ask = await cli("ask", "--model", "m");
    expect(ask.code).toBe(2);
    expect(ask.err).toMatch(/give an image and a question/);
    const number = await cli("synth", "--out", "x", "--species", "many");
    expect(number.code).toBe(2);
    expect(number.err).toContain("--species must be a number, got 'many'");
    const box = await cli("ask", "--model", "m", "--box", "1,2,3", "bird.jpg", "Which?");
    expect(box.code).toBe(2);
    expect(box.err).toContain("--box: bounding box: expected x,y,width,height in pixels");
    const unknown = await cli("train-vit", "--data", "d", "--out", "o", "--epoch", "3");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown flag --epoch");
    const backend = await cli("inspect", "--model", "m", "--backend", "gpu");
    expect(backend.code).toBe(2);
    expect(backend.err).toContain("--backend must be one of auto, native, wasm, cpu, webgpu, tensorflow; got 'gpu'");
  });

  it("exits 2 for an unknown or missing command, 1 when a command fails", async () => {
    const unknown = await cli("fly");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'fly'");
    expect((await cli()).code).toBe(2);
    const failed = await cli("inspect", "--model", "/nonexistent/birdvlm-model");
    expect(failed.code).toBe(1);
    expect(failed.err).toContain("birdvlm inspect:");
  });
});
