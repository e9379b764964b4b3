import { Rng } from "@birdvlm/core";

/**
 * A 32-bit seed derived from a base seed and keys (FNV-1a over their text), so that a random stream belongs
 * to one thing (an image, an epoch) and does not depend on the order things are visited in.
 */
export function deriveSeed(seed: number, ...keys: Array<string | number>): number {
  let h = 0x811c9dc5;
  const text = `${seed}|${keys.join("|")}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A generator for one thing: `new Rng(deriveSeed(seed, ...keys))`. */
export function rngFor(seed: number, ...keys: Array<string | number>): Rng {
  return new Rng(deriveSeed(seed, ...keys));
}
