/** How the patch grid becomes image tokens before projection. */
export type PoolingMode = "avg" | "all" | "cls";

/** Token pooling: `avg` average-pools the patch grid to `outputGrid`, `all` keeps every patch, `cls` the class token. */
export interface PoolingConfig {
  mode: PoolingMode;
  /** Target grid of `avg` pooling, `[rows, cols]`. Default `[7, 7]` (49 tokens from 14×14). */
  outputGrid?: [number, number];
  /**
   * With `avg` or `all`: the encoder's class token (`features.cls`) comes first, before the patch tokens (K + 1
   * tokens). Default false.
   */
  withCls?: boolean;
  /**
   * With `avg` or `all`: the encoder's pooled embedding (`features.pooled`, what its classifier head reads: for a
   * ViT pooling by mean or attention, not its class token) comes first (K + 1 tokens). Default false.
   */
  withPooled?: boolean;
}

/** Which projector: the 2-layer MLP of LLaVA-1.5 (default) or a single linear map. */
export type ProjectorKind = "mlp" | "linear";

/** Everything needed to rebuild a projector; saved as its `config.json`. */
export interface ProjectorConfig {
  kind: ProjectorKind;
  /** Width of the vision features. */
  inputDim: number;
  /** Width of the MLP's hidden layer (ignored by `linear`). Defaults to `outputDim`. */
  hiddenDim: number;
  /** Width of the language model's embeddings. */
  outputDim: number;
  /** `withCls` and `withPooled` are written only when true, so configs saved before them read the same. */
  pooling: Required<Omit<PoolingConfig, "withCls" | "withPooled">> & { withCls?: true; withPooled?: true };
}

/** Options for building a projector: only the dimensions are required. */
export interface ProjectorOptions {
  inputDim: number;
  outputDim: number;
  hiddenDim?: number;
  pooling?: PoolingConfig;
  /** Seed of the weight initializer. */
  seed?: number;
}

/** Fills the defaults of a projector config (hidden = output, avg pooling to 7×7) and validates it. */
export function resolveProjectorConfig(kind: ProjectorKind, o: ProjectorOptions): ProjectorConfig {
  const pooling: ProjectorConfig["pooling"] = {
    mode: o.pooling?.mode ?? "avg",
    outputGrid: o.pooling?.outputGrid ?? [7, 7],
    ...(o.pooling?.withCls ? { withCls: true as const } : {}),
    ...(o.pooling?.withPooled ? { withPooled: true as const } : {}),
  };
  const c: ProjectorConfig = {
    kind,
    inputDim: o.inputDim,
    hiddenDim: o.hiddenDim ?? o.outputDim,
    outputDim: o.outputDim,
    pooling,
  };
  for (const k of ["inputDim", "hiddenDim", "outputDim"] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`projector config: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (!["avg", "all", "cls"].includes(pooling.mode))
    throw new Error(`projector config: pooling.mode must be avg, all or cls, got '${pooling.mode}'`);
  if (pooling.withCls && pooling.mode === "cls")
    throw new Error(
      `projector config: pooling.withCls adds the class token to avg or all pooling; mode 'cls' has it alone`,
    );
  if (pooling.withPooled && (pooling.withCls || pooling.mode === "cls"))
    throw new Error(
      `projector config: pooling.withPooled adds the pooled embedding to avg or all pooling, without withCls`,
    );
  if (pooling.outputGrid.length !== 2 || pooling.outputGrid.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`projector config: pooling.outputGrid must be two positive integers, got [${pooling.outputGrid}]`);
  }
  return c;
}
