// Native kernels of core's attention and SwiGLU ops (`ops/fused-attention.ts`, `ops/swiglu.ts`), reached by
// kernel name while the native backend is active; attention's backward is a kernel too, SwiGLU's the op's composition.
import type { tf } from "../../../tf.js";
import type { AttentionAttrs } from "../../../ops/fused-attention.js";
import { broadcastStrides, f32, type KernelArgs, output } from "./util.js";
import type { NativeOnlyKernel } from "./native-only-kernel.js";

function need(args: KernelArgs, name: string, op: string): Float32Array {
  const v = f32(args.backend, args.inputs[name]);
  if (!v) throw new Error(`native ${op}: input '${name}' must be a float32 tensor`);
  return v;
}

/** What the fused attention kernels read: q, k, v and the mask, and the shape and attrs in the addon's order. */
interface FusedAttentionCall {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  mask: Float32Array | null;
  /** `[B, H, Hkv, Tq, Tk, capacity, D]`. */
  dims: number[];
  /** scale, causal, window, offset and the mask's broadcast strides. */
  rest: [number, boolean, number, number, number[]];
}

function fusedAttentionCall(args: KernelArgs, op: string): FusedAttentionCall {
  const { q, k, mask } = args.inputs;
  const attrs = args.attrs as unknown as AttentionAttrs & { kvLength?: number };
  const [B, H, Tq, D] = q.shape;
  const [, Hkv, capacity] = k.shape;
  const Tk = attrs.kvLength && attrs.kvLength > 0 ? attrs.kvLength : capacity;
  return {
    q: need(args, "q", op),
    k: need(args, "k", op),
    v: need(args, "v", op),
    mask: mask ? need(args, "mask", op) : null,
    dims: [B!, H!, Hkv!, Tq!, Tk!, capacity!, D!],
    rest: [
      attrs.scale,
      attrs.causal,
      attrs.window,
      attrs.offset,
      mask ? broadcastStrides(mask.shape, 4) : [0, 0, 0, 0],
    ],
  };
}

/**
 * BirdVLMFusedAttention: q `[B, H, Tq, D]`, k and v `[B, Hkv, capacity, D]` (the first `kvLength` positions
 * attended, all when it is 0 or absent), optional additive mask broadcastable to `[B, H, Tq, kvLength]` →
 * `[B, H, Tq, D]`.
 */
export const fusedAttentionKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const c = fusedAttentionCall(args, "BirdVLMFusedAttention");
    const out = output(args.backend, c.q.length);
    addon.attention(c.q, c.k, c.v, c.mask, out, c.dims, ...c.rest);
    return args.backend.makeTensorInfo(args.inputs.q.shape, "float32", out);
  }) as unknown as tf.KernelFunc;

/**
 * BirdVLMFusedAttentionGrad: the inputs of BirdVLMFusedAttention (same attrs) and dy `[B, H, Tq, D]` → dq
 * `[B, H, Tq, D]`, dk and dv `[B, Hkv, capacity, D]` (zero past `kvLength`).
 */
export const fusedAttentionGradKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMFusedAttentionGrad";
    const c = fusedAttentionCall(args, op);
    const [dq, dk, dv] = [c.q.length, c.k.length, c.v.length].map((n) => output(args.backend, n)) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    addon.attentionGrad(c.q, c.k, c.v, c.mask, need(args, "dy", op), dq, dk, dv, c.dims, ...c.rest);
    const { q, k } = args.inputs;
    return [
      args.backend.makeTensorInfo(q.shape, "float32", dq),
      args.backend.makeTensorInfo(k.shape, "float32", dk),
      args.backend.makeTensorInfo(k.shape, "float32", dv),
    ];
  }) as unknown as tf.KernelFunc;

/** The packed input of the qkv kernels and the addon's shape `[B, H, H, Tq, T, T, D]` for it (`Tq` queries). */
function qkvCall(args: KernelArgs, op: string): { qkv: Float32Array; dims: number[]; scale: number } {
  const { heads, scale, queries } = args.attrs as { heads: number; scale: number; queries?: number };
  const [B, T, width] = args.inputs.qkv.shape as [number, number, number];
  return { qkv: need(args, "qkv", op), dims: [B, heads, heads, queries ?? T, T, T, width / (3 * heads)], scale };
}

/** No mask, not causal, no window or offset; q, k and v read in place from the packed `[B, T, 3·H·D]` rows. */
const PACKED_QKV: [boolean, number, number, number[], boolean] = [false, 0, 0, [0, 0, 0, 0], true];

/**
 * BirdVLMQkvAttention: qkv `[B, T, 3·H·D]` (attrs `heads`, `scale`, `queries` = Tq ≤ T) → `[B, Tq, H·D]`, the first
 * `Tq` tokens attending to all `T`, read and written in place.
 */
export const qkvAttentionKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const { qkv, dims, scale } = qkvCall(args, "BirdVLMQkvAttention");
    const [B, , , Tq] = dims as [number, number, number, number];
    const [, , width] = args.inputs.qkv.shape as [number, number, number];
    const out = output(args.backend, B * Tq * (width / 3));
    addon.attention(qkv, qkv, qkv, null, out, dims, scale, ...PACKED_QKV);
    return args.backend.makeTensorInfo([B, Tq, width / 3], "float32", out);
  }) as unknown as tf.KernelFunc;

/**
 * BirdVLMQkvAttentionTraining: as BirdVLMQkvAttention, and also the probabilities `[B, H, T, T]` for the gradient
 * to read instead of recomputing them.
 */
export const qkvAttentionTrainingKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const { qkv, dims, scale } = qkvCall(args, "BirdVLMQkvAttentionTraining");
    const [B, H, , Tq, T] = dims as [number, number, number, number, number];
    const [, , width] = args.inputs.qkv.shape as [number, number, number];
    const out = output(args.backend, B * Tq * (width / 3));
    const probs = output(args.backend, B * H * Tq * T);
    addon.attention(qkv, qkv, qkv, null, out, dims, scale, ...PACKED_QKV, probs);
    return [
      args.backend.makeTensorInfo([B, Tq, width / 3], "float32", out),
      args.backend.makeTensorInfo([B, H, Tq, T], "float32", probs),
    ];
  }) as unknown as tf.KernelFunc;

/**
 * BirdVLMQkvAttentionGrad: qkv `[B, T, 3·H·D]`, dy `[B, Tq, H·D]` (and the forward's probabilities `probs`
 * `[B, H, Tq, T]`, read instead of recomputed) → dqkv `[B, T, 3·H·D]` (the q of tokens past `Tq` gets 0).
 */
export const qkvAttentionGradKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMQkvAttentionGrad";
    const { qkv, dims, scale } = qkvCall(args, op);
    const probs = args.inputs.probs ? need(args, "probs", op) : null;
    const dx = output(args.backend, qkv.length);
    addon.attentionGrad(qkv, qkv, qkv, null, need(args, "dy", op), dx, dx, dx, dims, scale, ...PACKED_QKV, probs);
    return args.backend.makeTensorInfo(args.inputs.qkv.shape, "float32", dx);
  }) as unknown as tf.KernelFunc;

/** BirdVLMSwiGLU: x `[N, 2I]` (gate, then up) → `[N, I]`. */
export const swigluKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const { x } = args.inputs;
    const xv = need(args, "x", "BirdVLMSwiGLU");
    const width = x.shape[x.shape.length - 1];
    const rows = xv.length / Math.max(width, 1);
    const out = output(args.backend, (rows * width) / 2);
    addon.swiglu(xv, out, rows, width / 2);
    return args.backend.makeTensorInfo([...x.shape.slice(0, -1), width / 2], "float32", out);
  }) as unknown as tf.KernelFunc;
