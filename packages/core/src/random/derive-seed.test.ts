import { describe, expect, it } from "vitest";
import { deriveSeed, rngFor } from "./derive-seed.js";

/** FNV-1a as deriveSeed hashes its text, without the guard against 0. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** A key whose text `${seed}|${key}` hashes to 0 under FNV-1a (found by inverting the last two steps). */
function keyHashingToZero(): { seed: number; key: string } {
  const P = 0x01000193;
  let inv = P;
  for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(P, inv));
  const last = 0x41; // after the last char the state is (state ^ last) * P: 0 when the state before it is `last`
  const before = Math.imul(last, inv) >>> 0; // the state (h ^ c2) must reach before the second-to-last step
  for (let seed = 0; seed < 100; seed++) {
    const h0 = fnv1a(`${seed}|`);
    for (let c1 = 0; c1 < 0x10000; c1++) {
      const h1 = Math.imul(h0 ^ c1, P) >>> 0;
      const c2 = (h1 ^ before) >>> 0;
      if (c2 < 0x10000) return { seed, key: String.fromCharCode(c1, c2, last) };
    }
  }
  throw new Error("no key found");
}

describe("deriveSeed", () => {
  it("is FNV-1a over `${seed}|${keys}`, stable across calls and visit order", () => {
    expect(deriveSeed(7, "image", 3)).toBe(fnv1a("7|image|3"));
    expect(deriveSeed(7, "image", 3)).toBe(deriveSeed(7, "image", 3));
    expect(deriveSeed(7, "image", 3)).not.toBe(deriveSeed(7, "image", 4));
    expect(deriveSeed(7, "image", 3)).not.toBe(deriveSeed(8, "image", 3));
  });

  it("is never 0 (TF.js reads a seed of 0 as no seed): a text hashing to 0 gives 1", () => {
    const { seed, key } = keyHashingToZero();
    expect(fnv1a(`${seed}|${key}`)).toBe(0);
    expect(deriveSeed(seed, key)).toBe(1);
    for (let n = 0; n < 1000; n++) {
      const s = deriveSeed(0, "init", n);
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThan(2 ** 32);
      expect(Number.isInteger(s)).toBe(true);
    }
  });

  it("rngFor seeds an Rng with the derived seed", () => {
    expect(rngFor(3, "order", 1).nextUint32()).toBe(rngFor(3, "order", 1).nextUint32());
    expect(rngFor(3, "order", 1).nextUint32()).not.toBe(rngFor(3, "order", 2).nextUint32());
  });
});
