import { rngFor } from "@birdvlm/core";

/**
 * Splits positions `0..labels.length-1` into two sets with `fraction` of each class's positions (rounded,
 * at least one when a class has two or more) in the second, chosen at random for `seed`. Both lists are sorted.
 */
export function stratifiedSplit(labels: ArrayLike<number>, fraction: number, seed: number): [number[], number[]] {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`stratifiedSplit: fraction must be in (0, 1), got ${fraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) byClass.set(labels[i]!, [...(byClass.get(labels[i]!) ?? []), i]);
  const held = new Set<number>();
  for (const [label, positions] of byClass) {
    const n = positions.length < 2 ? 0 : Math.max(1, Math.round(positions.length * fraction));
    const order = rngFor(seed, "holdout", label).permutation(positions.length);
    for (const k of order.slice(0, n)) held.add(positions[k]!);
  }
  const keep: number[] = [];
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) (held.has(i) ? out : keep).push(i);
  return [keep, out];
}
