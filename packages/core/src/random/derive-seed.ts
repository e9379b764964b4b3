import { Rng } from "./rng.js";

/**
 * A 32-bit seed derived from a base seed and keys (FNV-1a over their text), so that a random stream belongs
 * to one thing (a parameter, an image, an epoch) and does not depend on the order things are visited in.
 * Never 0: TF.js reads a seed of 0 as "no seed" and would draw fresh random values.
 *
 * @returns an integer in `[1, 2^32)`.
 */
export function deriveSeed(seed: number, ...keys: Array<string | number>): number {
  let h = 0x811c9dc5;
  const text = `${seed}|${keys.join("|")}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 1;
}

/** A generator for one thing: `new Rng(deriveSeed(seed, ...keys))`. */
export function rngFor(seed: number, ...keys: Array<string | number>): Rng {
  return new Rng(deriveSeed(seed, ...keys));
}
