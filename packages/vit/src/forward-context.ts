/** Where the patch tokens sit: `prefix` tokens (class, distillation) first, then a `rows x cols` grid, row-major. */
export interface TokenGrid {
  rows: number;
  cols: number;
  prefix: number;
}

/** What a forward pass needs beyond its input: whether it trains, where its random seeds come from, what to record. */
export interface ForwardContext {
  /** Dropout and drop-path are active only when `true`. */
  training: boolean;
  /** A fresh seed for one random op (dropout, drop-path masks). */
  nextSeed(): number;
  /** When set, each attention layer pushes its probabilities `[B, heads, T, T]` here (the caller disposes them). */
  attention?: unknown[];
  /** The token layout of this pass (set by the encoder), for layers that see tokens on their grid. */
  tokenGrid?: TokenGrid;
}
