/**
 * Which TF.js WebGPU matmul program runs a product. TF.js 4.22 picks `MatMulSplitKProgram` for a single
 * product with few output tiles and a long inner dimension (K >= 2000: e.g. a weight gradient `xᵀ dy` over
 * B·T = 64·197 tokens); that program adds partial sums with atomics, in no fixed order, so a training step
 * is not reproducible bit for bit (a resumed run drifts from an uninterrupted one). BirdVLM replaces it with
 * `MatMulSmallOutputSizeProgram`, the program TF.js itself uses for the same few-tile case below K = 2000.
 */

/** TF.js's `MatMulProgramType` values (webgpu_util.ts). */
export const MatMulProgram = { reduce: 0, splitK: 1, smallOutputSize: 2, packed: 3 } as const;

/** The program TF.js 4.22 would pick for `[batch, M, K] x [batch, K, N]` (its `batchMatMulImpl` rule). */
export function tfjsMatMulChoice(batch: number, M: number, N: number, K: number, threshold: number): number {
  const tiles = batch * Math.ceil(M / 32) * Math.ceil(N / 32);
  const fewTiles = tiles <= threshold || (M <= 8 && tiles <= threshold * 2);
  if (!fewTiles) return MatMulProgram.packed;
  if (batch * M * N <= 128) return MatMulProgram.reduce;
  if (batch === 1 && K >= 2000) return MatMulProgram.splitK;
  return MatMulProgram.smallOutputSize;
}

/** The program BirdVLM runs instead: TF.js's choice, but never the non-deterministic split-K. */
export function birdvlmMatMulChoice(batch: number, M: number, N: number, K: number, threshold: number): number {
  const choice = tfjsMatMulChoice(batch, M, N, K, threshold);
  return choice === MatMulProgram.splitK ? MatMulProgram.smallOutputSize : choice;
}

/** `[batch, M, N, K]` of `a x b` with TF.js's transpose flags (batch: the larger of the two batch sizes). */
export function matMulDims(a: number[], b: number[], transposeA: boolean, transposeB: boolean): [number, number, number, number] {
  const size = (s: number[]) => s.slice(0, -2).reduce((x, y) => x * y, 1);
  const M = transposeA ? a[a.length - 1] : a[a.length - 2];
  const K = transposeA ? a[a.length - 2] : a[a.length - 1];
  const N = transposeB ? b[b.length - 2] : b[b.length - 1];
  return [Math.max(size(a), size(b)), M, N, K];
}
