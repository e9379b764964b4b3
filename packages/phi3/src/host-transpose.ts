/**
 * Transposes a row-major `[rows, cols]` float32 matrix into a new `[cols, rows]` one, in 64 × 64 tiles so
 * both sides stay in cache. Used when loading checkpoints, where it is much faster than a backend transpose.
 */
export function transposeMatrix(values: Float32Array, rows: number, cols: number): Float32Array {
  if (values.length !== rows * cols) throw new Error(`transposeMatrix: ${values.length} values for [${rows}, ${cols}]`);
  const out = new Float32Array(values.length);
  const tile = 64;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(r0 + tile, rows);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(c0 + tile, cols);
      for (let r = r0; r < r1; r++) {
        const src = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = values[src + c]!;
      }
    }
  }
  return out;
}
