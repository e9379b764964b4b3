import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { NativePixelOps } from "./pixel-ops.js";

/** The functions of the compiled addon (`packages/core/addon`). Outputs are written in place. */
export interface NativeAddon extends NativePixelOps {
  /** The micro-kernel's instruction set, the pool's threads, and whether kernels are queued (`BIRDVLM_ASYNC`). */
  info(): { isa: string; threads: number; async?: boolean };
  setThreads(threads: number): number;
  /** Waits until every queued kernel has run (launch-queue.ts); throws the error of one that failed. */
  synchronize(): void;
  /** The sequence number of the last queued kernel that has run. */
  launchesCompleted(): number;
  /** Queue kernels (true) or run each before returning (false), after running what is queued; the previous setting. */
  setAsync(on: boolean): boolean;
  /**
   * out[batch,M,N] = op(a[aIndex[i]]) · op(b[bIndex[i]]) for each output batch i, then (optionally) + bias (length N
   * or 1) and an activation (a Unary code, -2 leaky ReLU with `alpha`, -1 none) on each tile while it is in cache.
   */
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transposeA: boolean,
    transposeB: boolean,
    aIndex: Int32Array,
    bIndex: Int32Array,
    batchA: number,
    batchB: number,
    bias?: Float32Array | null,
    act?: number,
    alpha?: number,
    /** Receives the product before the bias and activation (`[batch, m, n]`), when given. */
    keep?: Float32Array | null,
  ): void;
  /** In place on c[rows,n]: add bias (length n or 1, or null), then activation (a Unary code, -2 leaky, -1 none). */
  biasActivation(c: Float32Array, rows: number, n: number, bias: Float32Array | null, act: number, alpha: number): void;
  unary(op: number, x: Float32Array, out: Float32Array): void;
  leakyRelu(x: Float32Array, out: Float32Array, alpha: number): void;
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: number[],
    aStrides: number[],
    bStrides: number[],
  ): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** Reduces the middle axis of an [p, r, q] view. */
  reduce(op: number, x: Float32Array, out: Float32Array, p: number, r: number, q: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: number[], perm: number[]): void;
  /** out (dense, `shape`) = x[offset + Σ i_d · strides[d]]. */
  stridedCopy(x: Float32Array, out: Float32Array, offset: number, shape: number[], strides: number[]): void;
  /** LayerNorm (RMSNorm when `rms`) over the last axis of [rows, c]. */
  normRows(
    x: Float32Array,
    out: Float32Array,
    rows: number,
    c: number,
    gamma: Float32Array,
    beta: Float32Array | null,
    eps: number,
    rms: boolean,
  ): void;
  /**
   * out [B, H, Tq, D] = softmax(q kᵀ · scale + mask + causal/window rule) v, for q [B, H, Tq, D] and k, v
   * [B, Hkv, capK, D] of which the first Tk positions are read; `dims` = [B, H, Hkv, Tq, Tk, capK, D]; the mask
   * is read at Σ index · maskStrides over (b, h, i, j).
   */
  attention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    out: Float32Array,
    dims: number[],
    scale: number,
    causal: boolean,
    window: number,
    offset: number,
    maskStrides: number[],
    /** q holds [B, T, 3, H, D] (a fused qkv projection; k and v are ignored) and out is [B, T, H, D]. */
    packedQkv?: boolean,
    /** `[B, H, Tq, Tk]`: receives the probabilities, for `attentionGrad` to read (a training forward). */
    probs?: Float32Array | null,
  ): void;
  /**
   * out [m, n] = x [m, k] · W [k, n], W's bfloat16 values row-major in the 16-bit halves of `w` (element 2i in
   * the low half of w[i]); products and sums in float32 (see `ops/bf16-matmul.ts` for the layout).
   */
  bf16MatMul(x: Float32Array, w: Int32Array, out: Float32Array, m: number, n: number, k: number): void;
  /** out [n, dim] = rows `rows` of the bf16 matrix [*, dim] held in `w` (layout as bf16MatMul), widened to float32. */
  bf16GatherRows(w: Int32Array, rows: Int32Array, out: Float32Array, dim: number): void;
  /** Runs `jobs` small jobs on the thread pool; returns how many tasks did not run exactly once (0 when sound). */
  poolCheck(jobs: number): number;
  /**
   * Gradients of `attention` (same arguments, `out` replaced by dy) into dq [B, H, Tq, D] and dk, dv [B, Hkv, capK,
   * D] (positions past Tk get 0); the probabilities are read from `probs` when given, recomputed otherwise.
   */
  attentionGrad(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    dy: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    dims: number[],
    scale: number,
    causal: boolean,
    window: number,
    offset: number,
    maskStrides: number[],
    /** q and dq hold [B, T, 3, H, D] (k, v, dk, dv are ignored), dy is [B, T, H, D]. */
    packedQkv?: boolean,
    /** `[B, H, Tq, Tk]`: the forward's probabilities (from `attention`'s `probs`). */
    probs?: Float32Array | null,
  ): void;
  /**
   * norm[0] = √Σ g² over every element of every gradient (summed in double, the same for any thread count), and
   * with `outs`, outs[i] = grads[i] · min(1, maxNorm / (norm + 1e-6)), each scalar step rounded to float32.
   */
  clipByGlobalNorm(grads: Float32Array[], norm: Float32Array, maxNorm: number, outs: Float32Array[] | null): void;
  /**
   * cols [B*OH*OW, KH*KW*C] = every output pixel's receptive field of x [B, H, W, C] in (ky, kx, c) order, zeros
   * outside the image; `dims` = [B, H, W, C, KH, KW, OH, OW, strideH, strideW, padTop, padLeft].
   */
  im2col(x: Float32Array, cols: Float32Array, dims: number[]): void;
  /** dx [B, H, W, C] = the adjoint of {@link im2col}: each cols entry added where im2col read it (dx overwritten). */
  col2im(cols: Float32Array, dx: Float32Array, dims: number[]): void;
  /** y [B, OH, OW, C] = the depthwise convolution of x [B, H, W, C] with w [KH, KW, C]; `dims` as {@link im2col}'s. */
  depthwiseConv(x: Float32Array, w: Float32Array, y: Float32Array, dims: number[]): void;
  /** dx [B, H, W, C] = the adjoint of {@link depthwiseConv} in x, given dy (dx overwritten). */
  depthwiseConvGradInput(dy: Float32Array, w: Float32Array, dx: Float32Array, dims: number[]): void;
  /** dw [KH, KW, C] = the gradient of {@link depthwiseConv}'s filter, given x and dy (dw overwritten). */
  depthwiseConvGradFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, dims: number[]): void;
  /** out [rows, I] = up · silu(gate) for x [rows, 2I] holding gate then up. */
  swiglu(x: Float32Array, out: Float32Array, rows: number, i: number): void;
  /**
   * Backward of biasActivation over [rows, n] for act GeluErf, GeluTanh or Silu: dx = dy · act'(x + bias); dbias
   * (when given) = the column sums of dx.
   */
  biasActivationGrad(
    dy: Float32Array,
    x: Float32Array,
    bias: Float32Array | null,
    dx: Float32Array,
    dbias: Float32Array | null,
    rows: number,
    n: number,
    act: number,
  ): void;
  /** Backward of normRows over [rows, c]: dx, dgamma, and dbeta (LayerNorm; null for RMSNorm). */
  normRowsGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array | null,
    rows: number,
    c: number,
    eps: number,
    rms: boolean,
  ): void;
  /**
   * One AdamW step into new buffers: m' = b1·m + c1·g, v' = b2·v + c2·g², p' = p·decay − m' / (√v' / bc2Sqrt + eps) ·
   * stepSize, with `h` = [b1, c1 = 1 − b1, b2, c2 = 1 − b2, eps, decay, stepSize, bc2Sqrt].
   */
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    h: number[],
  ): void;
}

/** Codes of the addon's unary ops (same order as `Unary` in addon/src/elementwise.h). */
export const UnaryOp = {
  Exp: 0,
  Erf: 1,
  Tanh: 2,
  Sigmoid: 3,
  Relu: 4,
  Sqrt: 5,
  Rsqrt: 6,
  Log: 7,
  Neg: 8,
  Abs: 9,
  Square: 10,
  Relu6: 11,
  Elu: 12,
  GeluErf: 13,
  GeluTanh: 14,
  Silu: 15,
} as const;
/** Codes of the addon's binary ops (same order as `Binary` in addon/src/elementwise.h). */
export const BinaryOp = { Add: 0, Sub: 1, Mul: 2, Div: 3, Max: 4, Min: 5, SquaredDiff: 6, Pow: 7 } as const;
/** Codes of the addon's reductions (same order as `Reduce` in addon/src/elementwise.h). */
export const ReduceOp = { Sum: 0, Max: 1, Min: 2, Mean: 3, Prod: 4 } as const;

const ADDON_FILE = "birdvlm_native.node";

/** The platforms that have a prebuilt addon package (`@birdvlm/core-<platform>`), published with core. */
export const PREBUILT_PLATFORMS: readonly string[] = ["linux-x64-gnu"];

/** This machine as the platform packages name it: `linux-x64-gnu`, `linux-x64-musl`, `darwin-arm64`, ... */
export function platformTag(): string {
  let libc = "";
  if (process.platform === "linux") {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    libc = header?.glibcVersionRuntime ? "-gnu" : "-musl";
  }
  return `${process.platform}-${process.arch}${libc}`;
}

/** The package that ships this machine's prebuilt addon, e.g. `@birdvlm/core-linux-x64-gnu`. */
export function platformPackage(): string {
  return `@birdvlm/core-${platformTag()}`;
}

/** The folder of core's package.json, seen from this module in `src/backends/native/` or bundled in `dist/`. */
function coreRoot(): string {
  let here: string;
  try {
    here = dirname(fileURLToPath(import.meta.url));
  } catch {
    here = typeof __dirname === "string" ? __dirname : process.cwd();
  }
  return basename(here) === "dist" ? dirname(here) : resolve(here, "../../..");
}

/** The binary of the installed platform package, if it is installed. */
function platformBinary(): string | undefined {
  try {
    const require = createRequire(join(coreRoot(), "package.json"));
    return join(dirname(require.resolve(`${platformPackage()}/package.json`)), ADDON_FILE);
  } catch {
    return undefined;
  }
}

/**
 * Where the addon binary may be, in the order tried: env `BIRDVLM_NATIVE_ADDON`, the platform package
 * ({@link platformPackage}), then a local build (`addon/build/Release` in core).
 */
export function addonCandidates(): string[] {
  const env = process.env.BIRDVLM_NATIVE_ADDON;
  const prebuilt = platformBinary();
  return [
    ...(env ? [resolve(env)] : []),
    ...(prebuilt ? [prebuilt] : []),
    join(coreRoot(), "addon/build/Release", ADDON_FILE),
  ];
}

/** The first addon binary that exists, if any (so a failure to load it is worth a warning). */
export function findAddon(): string | undefined {
  return addonCandidates().find((p) => existsSync(p));
}

/** What to do when no addon loads: install the platform package, or build the addon here. */
function addonFix(): string {
  const build = `build it here with 'node ${join(coreRoot(), "addon/build.mjs")}' (needs a C++17 compiler and Python)`;
  return PREBUILT_PLATFORMS.includes(platformTag())
    ? `install ${platformPackage()} (an optional dependency of @birdvlm/core: reinstall without --omit=optional / --no-optional), or ${build}`
    : `no prebuilt addon is published for ${platformTag()}: ${build}`;
}

let loaded: NativeAddon | undefined;

/**
 * Loads the addon once, from the first candidate of {@link addonCandidates} that loads; throws, naming what was
 * tried and how to fix it, when none does.
 */
export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  const failures: string[] = [];
  for (const path of addonCandidates().filter((p) => existsSync(p))) {
    try {
      loaded = createRequire(path)(path) as NativeAddon;
      return loaded;
    } catch (e) {
      failures.push(`${path} does not load: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const missing = failures.length
    ? failures.join("; ")
    : `${platformPackage()} is not installed and there is no local build`;
  throw new Error(`the native addon is not available (${missing}); ${addonFix()}`);
}
