import { describe, expect, it } from "vitest";
import { containsWords, normalizeText, speciesInAnswer } from "./species-match.js";

describe("species matching", () => {
  it("normalizes case, punctuation and spaces", () => {
    expect(normalizeText("  Red-winged   Blackbird! ")).toBe("red winged blackbird");
  });
  it("matches whole words only and prefers the longest name", () => {
    const names = ["Blackbird", "Red-winged Blackbird", "Wren"];
    expect(speciesInAnswer("This is a red winged blackbird.", names)).toBe("Red-winged Blackbird");
    expect(speciesInAnswer("It is a Blackbird", names)).toBe("Blackbird");
    expect(speciesInAnswer("a wrentit", names)).toBeUndefined();
    expect(containsWords("The wing is blue.", "blue")).toBe(true);
    expect(containsWords("The wing is bluish.", "blue")).toBe(false);
  });
});
