import { describe, expect, it } from "vitest";
import { COMMANDS, runCommand } from "./cli-commands.js";

describe("birdvlm commands", () => {
  it("has the nine commands, each with a usage that starts with its own name and lists --help", () => {
    expect(Object.keys(COMMANDS)).toEqual([
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
    for (const [name, c] of Object.entries(COMMANDS)) {
      expect(c.usage.startsWith(`birdvlm ${name}`)).toBe(true);
      expect(c.usage).toContain("--help");
    }
  });

  it("says which option is missing and where to look", async () => {
    await expect(runCommand("eval", {}, [])).rejects.toThrow("eval: --model is required (see 'birdvlm eval --help')");
    await expect(runCommand("ask", { model: "m" }, [])).rejects.toThrow(/give an image and a question/);
    await expect(runCommand("synth", { out: "x", species: "many" }, [])).rejects.toThrow(
      "--species must be a number, got 'many'",
    );
    await expect(runCommand("ask", { model: "m", box: "1,2,3" }, ["bird.jpg", "Which?"])).rejects.toThrow(
      "expected x,y,width,height in pixels",
    );
  });
});
