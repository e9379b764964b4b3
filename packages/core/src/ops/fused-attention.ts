import { tf } from "../tf.js";
import {
  customGradOp,
  FusedKernelName,
  gradientsRecorded,
  hasFusedKernel,
  runFusedKernel,
  runFusedKernelOutputs,
} from "./fused-kernel.js";

/** Options of {@link fusedAttention}. */
export interface AttentionOptions {
  /** Additive mask broadcastable to `[B, H, Tq, Tk]` (0 keeps, a large negative drops), e.g. `[B, 1, 1, Tk]` padding. */
  mask?: tf.Tensor;
  /** Query `i` (absolute position `offset + i`) sees only keys `j <= offset + i`. */
  causal?: boolean;
  /** Sliding window (Phi-3 / Mistral `sliding_window`): query at position p sees only keys with `p - j < window`. */
  window?: number;
  /** Absolute position of the first query: the KV cache length before this step. Default `Tk - Tq`. */
  offset?: number;
  /** Multiplies the scores; default `1 / sqrt(D)`. */
  scale?: number;
  /**
   * Only the first `kvLength` positions of k and v are keys (a preallocated KV cache whose later positions are
   * spare capacity); default all `Tk`. The mask and the default offset then count `kvLength` keys.
   */
  kvLength?: number;
}

/** Backends whose attention kernel reads k/v with spare capacity (attr `kvLength`); others get k/v sliced. */
const KV_LENGTH_BACKENDS = new Set(["native"]);

/** The score a causal or window mask gives a dropped key (added to it): exp underflows to exactly 0. */
export const MASKED_SCORE = -1e30;

// Reference: PyTorch `F.scaled_dot_product_attention`; transformers `eager_attention_forward` (modeling_phi3.py).
/**
 * Scaled dot-product attention, `softmax(q kᵀ · scale + mask) v`, in one pass on `webgpu` and `native`
 * (scores, mask, softmax and values in one kernel — one WGSL shader, or the addon's per block of query rows —
 * without the `[Tq, Tk]` score matrix in memory); plain TF.js ops on other backends. Grouped-query attention
 * when k/v have fewer heads (H a multiple of Hkv).
 *
 * Dropped keys (causal, window) get {@link MASKED_SCORE} added, like Hugging Face's `finfo.min` mask.
 *
 * @param q `[B, H, Tq, D]` float32.
 * @param k `[B, Hkv, Tk, D]`.
 * @param v `[B, Hkv, Tk, D]`.
 * @returns `[B, H, Tq, D]`. Differentiable in q, k, v (the backward recomputes the probabilities; one kernel on
 *   `native`).
 */
export function fusedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  options: AttentionOptions = {},
): tf.Tensor4D {
  const [B, H, Tq, D] = q.shape;
  const [Bk, Hkv, capacity, Dk] = k.shape;
  const Tk = options.kvLength ?? capacity;
  if (!Number.isInteger(Tk) || Tk < 0 || Tk > capacity)
    throw new Error(`fusedAttention: kvLength ${Tk} must be an integer in [0, ${capacity}] (k's positions)`);
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4)
    throw new Error(`fusedAttention: q, k, v must be rank 4 [B, H, T, D] (got ${q.rank}, ${k.rank}, ${v.rank})`);
  if (Bk !== B || Dk !== D || H % Hkv !== 0) {
    throw new Error(
      `fusedAttention: k has shape [${k.shape}], incompatible with q [${q.shape}] (same B and D, H a multiple of Hkv)`,
    );
  }
  if (!tf.util.arraysEqual(v.shape, k.shape))
    throw new Error(`fusedAttention: v has shape [${v.shape}], expected k's [${k.shape}]`);
  const mask = options.mask;
  if (mask) checkMask(mask, [B, H, Tq, Tk]);
  const attrs: AttentionAttrs = {
    scale: options.scale ?? 1 / Math.sqrt(D),
    causal: options.causal ?? false,
    window: options.window ?? 0,
    offset: options.offset ?? Tk - Tq,
  };
  if (attrs.window < 0 || !Number.isInteger(attrs.window))
    throw new Error(`fusedAttention: window must be a positive integer (got ${attrs.window})`);
  // The mask is an input of the op (with a zero gradient) so that the backward keeps it alive: it is often made
  // inside the forward's tf.tidy, which disposes it before the gradient runs.
  const fused = hasFusedKernel(FusedKernelName.attention);
  if (Tk < capacity && !(fused && KV_LENGTH_BACKENDS.has(tf.getBackend()))) {
    // Spare capacity that this kernel (or the composition) cannot skip: attend to the first Tk positions.
    return tf.tidy(() => fusedAttention(q, firstKeys(k, Tk), firstKeys(v, Tk), { ...options, kvLength: undefined }));
  }
  const kernelAttrs = Tk < capacity ? { ...attrs, kvLength: Tk } : { ...attrs };
  const op = customGradOp(([qi, ki, vi, mi], save) => {
    save(mi ? [qi, ki, vi, mi] : [qi, ki, vi]);
    const value = fused
      ? runFusedKernel(
          FusedKernelName.attention,
          mi ? { q: qi, k: ki, v: vi, mask: mi } : { q: qi, k: ki, v: vi },
          kernelAttrs,
        )
      : attentionReference(qi as tf.Tensor4D, ki as tf.Tensor4D, vi as tf.Tensor4D, attrs, mi);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [qs, ks, vs, ms] = saved as tf.Tensor4D[];
        if (fused && hasFusedKernel(FusedKernelName.attentionGrad)) {
          // One pass of the backend's backward kernel (probabilities recomputed per head, never all in memory).
          const grads = runFusedKernelOutputs(
            FusedKernelName.attentionGrad,
            ms ? { q: qs!, k: ks!, v: vs!, dy, mask: ms } : { q: qs!, k: ks!, v: vs!, dy },
            kernelAttrs,
          );
          return ms ? [...grads, tf.zerosLike(ms)] : grads;
        }
        const grads =
          Tk < capacity
            ? capacityGrads(dy as tf.Tensor4D, [qs!, ks!, vs!], Tk, attrs, ms)
            : attentionGrad(dy as tf.Tensor4D, [qs!, ks!, vs!], attrs, ms);
        return ms ? [...grads, tf.zerosLike(ms)] : grads;
      },
    };
  });
  return (mask ? op(q, k, v, mask) : op(q, k, v)) as tf.Tensor4D;
}

// Reference: timm `timm/models/vision_transformer.py` `Attention.forward` (qkv reshaped to [3, B, H, T, D], then
// `F.scaled_dot_product_attention`, the context transposed back to [B, T, H·D]).
/**
 * Multi-head self-attention (no mask) straight from a fused qkv projection's output, as timm's `Attention`: q, k
 * and v are the thirds of the last axis, each `H` heads of `D`. On `native` one kernel each way reads q, k, v where
 * they lie and writes the context with its heads already side by side (none of the transposes, unstack and stack
 * around attention); elsewhere the reshape, transpose and unstack, then {@link fusedAttention}.
 *
 * @param qkv `[B, T, 3·H·D]` float32.
 * @param heads `H`.
 * @param options `scale` multiplies the scores; default `1 / sqrt(D)`. `queries`: only the first `Tq` tokens
 *   query (all `T` are keys and values), default all — a class-token head needs the class token's row alone.
 * @returns `[B, Tq, H·D]`. Differentiable in qkv (the q of tokens past `Tq` gets zero gradient).
 */
export function qkvAttention(
  qkv: tf.Tensor3D,
  heads: number,
  options: { scale?: number; queries?: number } = {},
): tf.Tensor3D {
  const [B, T, width] = qkv.shape;
  if (qkv.rank !== 3 || !Number.isInteger(heads) || heads < 1 || width % (3 * heads) !== 0)
    throw new Error(`qkvAttention: qkv [${qkv.shape}] must be [B, T, 3 * heads * D] for ${heads} heads`);
  const Tq = options.queries ?? T;
  if (!Number.isInteger(Tq) || Tq < 1 || Tq > T)
    throw new Error(`qkvAttention: queries ${options.queries} must be a whole number from 1 to T = ${T}`);
  const D = width / (3 * heads);
  const scale = options.scale ?? 1 / Math.sqrt(D);
  if (!hasFusedKernel(FusedKernelName.qkvAttention) || !hasFusedKernel(FusedKernelName.qkvAttentionGrad)) {
    return tf.tidy(() => {
      const [q, k, v] = tf.unstack(
        tf.transpose(tf.reshape(qkv, [B, T, 3, heads, D]), [2, 0, 3, 1, 4]),
      ) as tf.Tensor4D[];
      const queries = Tq < T ? tf.slice(q!, [0, 0, 0, 0], [-1, -1, Tq, -1]) : q!;
      const context = fusedAttention(queries, k!, v!, { scale });
      return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B, Tq, heads * D]);
    });
  }
  const attrs = { heads, scale, queries: Tq };
  // While gradients are recorded the forward keeps its probabilities, so the backward need not recompute them.
  const keepProbs = gradientsRecorded() && hasFusedKernel(FusedKernelName.qkvAttentionTraining);
  const op = customGradOp(([x], save) => {
    if (!keepProbs) {
      save([x]);
      return {
        value: runFusedKernel(FusedKernelName.qkvAttention, { qkv: x }, attrs),
        gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => [
          runFusedKernel(FusedKernelName.qkvAttentionGrad, { qkv: xs!, dy }, attrs),
        ],
      };
    }
    const [value, probs] = runFusedKernelOutputs(FusedKernelName.qkvAttentionTraining, { qkv: x }, attrs);
    save([x, probs!]);
    return {
      value: value!,
      gradFunc: (dy: tf.Tensor, [xs, ps]: tf.Tensor[]) => [
        runFusedKernel(FusedKernelName.qkvAttentionGrad, { qkv: xs!, dy, probs: ps! }, attrs),
      ],
    };
  });
  return op(qkv) as tf.Tensor3D;
}

/** The first `n` positions of `[B, H, T, D]`. */
function firstKeys(t: tf.Tensor4D, n: number): tf.Tensor4D {
  return tf.slice(t, [0, 0, 0, 0], [-1, -1, n, -1]);
}

/** Gradients when k/v carry spare capacity beyond `Tk` keys: those positions get zeros. */
function capacityGrads(
  dy: tf.Tensor4D,
  [q, k, v]: tf.Tensor4D[],
  Tk: number,
  attrs: AttentionAttrs,
  mask?: tf.Tensor,
): tf.Tensor[] {
  return tf.tidy(() => {
    const [dq, dk, dv] = attentionGrad(dy, [q!, firstKeys(k!, Tk), firstKeys(v!, Tk)], attrs, mask);
    const pad: Array<[number, number]> = [
      [0, 0],
      [0, 0],
      [0, k!.shape[2] - Tk],
      [0, 0],
    ];
    return [dq!, tf.pad(dk!, pad), tf.pad(dv!, pad)];
  });
}

/** The resolved options a fused attention kernel receives. */
export interface AttentionAttrs {
  scale: number;
  causal: boolean;
  window: number;
  offset: number;
}

/** Attention as plain TF.js ops (what `fusedAttention` computes on backends without the fused kernel). */
export function attentionReference(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  attrs: AttentionAttrs,
  mask?: tf.Tensor,
): tf.Tensor4D {
  return tf.tidy(() =>
    tf.matMul(probabilities(q, repeatHeads(k, q.shape[1]), attrs, mask), repeatHeads(v, q.shape[1])),
  );
}

function probabilities(q: tf.Tensor4D, k: tf.Tensor4D, attrs: AttentionAttrs, mask?: tf.Tensor): tf.Tensor4D {
  let scores: tf.Tensor = tf.mul(tf.matMul(q, k, false, true), attrs.scale);
  if (mask) scores = tf.add(scores, mask);
  const positional = positionMask(q.shape[2], k.shape[2], attrs);
  if (positional) scores = tf.add(scores, positional);
  return tf.softmax(scores) as tf.Tensor4D;
}

/** `[Tq, Tk]` additive mask of the causal / window rule, or undefined when neither applies. */
function positionMask(Tq: number, Tk: number, attrs: AttentionAttrs): tf.Tensor2D | undefined {
  if (!attrs.causal && attrs.window <= 0) return undefined;
  const pos = tf.reshape(tf.add(tf.range(0, Tq, 1, "int32"), attrs.offset), [Tq, 1]);
  const key = tf.reshape(tf.range(0, Tk, 1, "int32"), [1, Tk]);
  let dropped = tf.zeros([Tq, Tk], "bool") as tf.Tensor;
  if (attrs.causal) dropped = tf.logicalOr(dropped, tf.greater(key, pos));
  if (attrs.window > 0) dropped = tf.logicalOr(dropped, tf.greaterEqual(tf.sub(pos, key), attrs.window));
  return tf.mul(tf.cast(dropped, "float32"), MASKED_SCORE) as tf.Tensor2D;
}

/** `[B, Hkv, T, D]` → `[B, H, T, D]`, each kv head serving H / Hkv query heads in a row (as HF `repeat_kv`). */
function repeatHeads(t: tf.Tensor4D, H: number): tf.Tensor4D {
  const [B, Hkv, T, D] = t.shape;
  if (Hkv === H) return t;
  const rep = H / Hkv;
  return tf.reshape(tf.tile(tf.reshape(t, [B, Hkv, 1, T, D]), [1, 1, rep, 1, 1]), [B, H, T, D]);
}

function attentionGrad(
  dy: tf.Tensor4D,
  [q, k, v]: tf.Tensor4D[],
  attrs: AttentionAttrs,
  mask?: tf.Tensor,
): tf.Tensor[] {
  return tf.tidy(() => {
    const H = q.shape[1];
    const kk = repeatHeads(k, H);
    const vv = repeatHeads(v, H);
    const p = probabilities(q, kk, attrs, mask);
    const dP = tf.matMul(dy, vv, false, true);
    const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true)));
    const dq = tf.mul(tf.matMul(dS, kk), attrs.scale);
    const dk = tf.mul(tf.matMul(dS, q, true, false), attrs.scale);
    const dv = tf.matMul(p, dy, true, false);
    return [dq, sumHeads(dk as tf.Tensor4D, k.shape[1]), sumHeads(dv as tf.Tensor4D, k.shape[1])];
  });
}

/** Inverse of {@link repeatHeads} for gradients: `[B, H, T, D]` → `[B, Hkv, T, D]` summing each group. */
function sumHeads(t: tf.Tensor4D, Hkv: number): tf.Tensor4D {
  const [B, H, T, D] = t.shape;
  if (H === Hkv) return t;
  return tf.sum(tf.reshape(t, [B, Hkv, H / Hkv, T, D]), 2);
}

/** Throws unless the mask is float32 and broadcastable to `[B, H, Tq, Tk]`. */
function checkMask(mask: tf.Tensor, full: number[]): void {
  if (mask.rank > 4) throw new Error(`fusedAttention: mask has rank ${mask.rank}, expected at most 4`);
  const shape = [...Array(4 - mask.rank).fill(1), ...mask.shape];
  shape.forEach((n, i) => {
    if (n !== 1 && n !== full[i])
      throw new Error(`fusedAttention: mask shape [${mask.shape}] does not broadcast to [${full}]`);
  });
  if (mask.dtype !== "float32") throw new Error(`fusedAttention: mask must be float32 (additive), got ${mask.dtype}`);
}
