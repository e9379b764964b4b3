import { tf, type VisionFeatures } from "@birdvlm/core";
import type { PoolingConfig, PoolingMode } from "./config.js";

// Reference: PyTorch `torch.nn.AdaptiveAvgPool2d` (torch/nn/modules/pooling.py) over the patch grid.
/**
 * Turns vision features into the tokens a projector maps: `avg` average-pools the patch grid (adaptively, as
 * PyTorch's `AdaptiveAvgPool2d`: 14×14 → 7×7 = 49 tokens), `all` keeps every patch, `cls` keeps the class
 * token alone. No weights.
 */
export class PatchPooler {
  readonly mode: PoolingMode;
  readonly outputGrid: [number, number];
  /** The class token (`features.cls`) comes first, before the pooled patches. */
  readonly withCls: boolean;
  /** The encoder's pooled embedding (`features.pooled`, what its head reads) comes first. */
  readonly withPooled: boolean;
  private readonly matrices = new Map<string, tf.Tensor2D>();

  constructor(config: PoolingConfig = { mode: "avg" }) {
    this.mode = config.mode;
    this.outputGrid = config.outputGrid ?? [7, 7];
    this.withCls = !!config.withCls && this.mode !== "cls";
    this.withPooled = !!config.withPooled && !this.withCls && this.mode !== "cls";
  }

  /** Number of tokens produced for a patch grid `[rows, cols]`. */
  tokenCount(grid: [number, number]): number {
    if (this.mode === "cls") return 1;
    const extra = this.withCls || this.withPooled ? 1 : 0;
    if (this.mode === "all") return grid[0] * grid[1] + extra;
    this.checkGrid(grid);
    return this.outputGrid[0] * this.outputGrid[1] + extra;
  }

  /** features → `[B, K, D]` tokens (K from `tokenCount`). */
  forward(features: VisionFeatures): tf.Tensor3D {
    return tf.tidy(() => {
      const patches = this.poolPatches(features);
      if (!this.withCls && !this.withPooled) return patches;
      const first = this.withPooled ? this.pooledOf(features) : this.clsOf(features);
      return tf.concat([tf.expandDims(first, 1) as tf.Tensor3D, patches], 1) as tf.Tensor3D;
    });
  }

  private clsOf(features: VisionFeatures): tf.Tensor2D {
    if (!features.cls)
      throw new Error(
        `PatchPooler: pooling ${this.withCls ? "withCls" : "'cls'"} needs features.cls, but the encoder returned none (use 'avg' or 'all')`,
      );
    return features.cls;
  }

  private pooledOf(features: VisionFeatures): tf.Tensor2D {
    if (!features.pooled)
      throw new Error(
        "PatchPooler: pooling withPooled needs features.pooled (what the encoder's head reads), but the encoder returned none",
      );
    return features.pooled;
  }

  private poolPatches(features: VisionFeatures): tf.Tensor3D {
    return tf.tidy(() => {
      if (this.mode === "cls") return tf.expandDims(this.clsOf(features), 1) as tf.Tensor3D;
      const [b, n, d] = features.patches.shape;
      const [rows, cols] = features.grid;
      if (rows * cols !== n) throw new Error(`PatchPooler: grid [${rows},${cols}] does not match ${n} patches`);
      if (this.mode === "all") return tf.clone(features.patches);
      const p = this.poolMatrix(features.grid); // [K, N]
      const k = p.shape[0];
      // [B,N,D] → [N, B·D], then P·x → [K, B·D] → [B,K,D]
      const x = tf.reshape(tf.transpose(features.patches, [1, 0, 2]), [n, b * d]);
      return tf.transpose(tf.reshape(tf.matMul(p, x), [k, b, d]), [1, 0, 2]) as tf.Tensor3D;
    });
  }

  /** Frees the cached pooling matrices. */
  dispose(): void {
    for (const m of this.matrices.values()) m.dispose();
    this.matrices.clear();
  }

  private checkGrid(grid: [number, number]): void {
    if (grid[0] < this.outputGrid[0] || grid[1] < this.outputGrid[1]) {
      throw new Error(
        `PatchPooler: cannot average-pool a [${grid}] patch grid to [${this.outputGrid}] (output larger than input)`,
      );
    }
  }

  /** `[K, N]` averaging weights of adaptive pooling over a `[rows, cols]` grid (row-major). */
  private poolMatrix(grid: [number, number]): tf.Tensor2D {
    const key = grid.join("x");
    const cached = this.matrices.get(key);
    if (cached) return cached;
    this.checkGrid(grid);
    const [rows, cols] = grid;
    const [oh, ow] = this.outputGrid;
    const w = new Float32Array(oh * ow * rows * cols);
    for (let i = 0; i < oh; i++) {
      const r0 = Math.floor((i * rows) / oh),
        r1 = Math.ceil(((i + 1) * rows) / oh);
      for (let j = 0; j < ow; j++) {
        const c0 = Math.floor((j * cols) / ow),
          c1 = Math.ceil(((j + 1) * cols) / ow);
        const share = 1 / ((r1 - r0) * (c1 - c0));
        const row = (i * ow + j) * rows * cols;
        for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) w[row + r * cols + c] = share;
      }
    }
    const m = tf.keep(tf.tensor2d(w, [oh * ow, rows * cols]));
    this.matrices.set(key, m);
    return m;
  }
}
