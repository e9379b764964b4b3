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

/**
 * BirdVLMFusedAttention: q `[B, H, Tq, D]`, k and v `[B, Hkv, capacity, D]` (the first `kvLength` positions
 * attended, all when it is 0 or absent), optional additive mask broadcastable to `[B, H, Tq, kvLength]` →
 * `[B, H, Tq, D]`.
 */
export const fusedAttentionKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMFusedAttention";
    const { q, k, mask } = args.inputs;
    const attrs = args.attrs as unknown as AttentionAttrs & { kvLength?: number };
    const [B, H, Tq, D] = q.shape;
    const [, Hkv, capacity] = k.shape;
    const Tk = attrs.kvLength && attrs.kvLength > 0 ? attrs.kvLength : capacity;
    const out = output(args.backend, B * H * Tq * D);
    addon.attention(
      need(args, "q", op),
      need(args, "k", op),
      need(args, "v", op),
      mask ? need(args, "mask", op) : null,
      out,
      [B, H, Hkv, Tq, Tk, capacity, D],
      attrs.scale,
      attrs.causal,
      attrs.window,
      attrs.offset,
      mask ? broadcastStrides(mask.shape, 4) : [0, 0, 0, 0],
    );
    return args.backend.makeTensorInfo([B, H, Tq, D], "float32", out);
  }) as unknown as tf.KernelFunc;

/**
 * BirdVLMFusedAttentionGrad: the inputs of BirdVLMFusedAttention (same attrs) and dy `[B, H, Tq, D]` → dq
 * `[B, H, Tq, D]`, dk and dv `[B, Hkv, capacity, D]` (zero past `kvLength`).
 */
export const fusedAttentionGradKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMFusedAttentionGrad";
    const { q, k, mask } = args.inputs;
    const attrs = args.attrs as unknown as AttentionAttrs & { kvLength?: number };
    const [B, H, Tq, D] = q.shape;
    const [, Hkv, capacity] = k.shape;
    const Tk = attrs.kvLength && attrs.kvLength > 0 ? attrs.kvLength : capacity;
    const dq = output(args.backend, B * H * Tq * D);
    const dk = output(args.backend, B * Hkv * capacity * D);
    const dv = output(args.backend, B * Hkv * capacity * D);
    addon.attentionGrad(
      need(args, "q", op),
      need(args, "k", op),
      need(args, "v", op),
      mask ? need(args, "mask", op) : null,
      need(args, "dy", op),
      dq,
      dk,
      dv,
      [B, H, Hkv, Tq, Tk, capacity, D],
      attrs.scale,
      attrs.causal,
      attrs.window,
      attrs.offset,
      mask ? broadcastStrides(mask.shape, 4) : [0, 0, 0, 0],
    );
    return [
      args.backend.makeTensorInfo(q.shape, "float32", dq),
      args.backend.makeTensorInfo(k.shape, "float32", dk),
      args.backend.makeTensorInfo(k.shape, "float32", dv),
    ];
  }) as unknown as tf.KernelFunc;

/** BirdVLMQkvAttention: qkv `[B, T, 3·H·D]` (attrs `heads`, `scale`) → `[B, T, H·D]`, read and written in place. */
export const qkvAttentionKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const { qkv } = args.inputs;
    const x = need(args, "qkv", "BirdVLMQkvAttention");
    const { heads, scale } = args.attrs as { heads: number; scale: number };
    const [B, T, width] = qkv.shape;
    const D = width / (3 * heads);
    const out = output(args.backend, B * T * heads * D);
    addon.attention(x, x, x, null, out, [B, heads, heads, T, T, T, D], scale, false, 0, 0, [0, 0, 0, 0], true);
    return args.backend.makeTensorInfo([B, T, heads * D], "float32", out);
  }) as unknown as tf.KernelFunc;

/** BirdVLMQkvAttentionGrad: qkv `[B, T, 3·H·D]`, dy `[B, T, H·D]` → dqkv `[B, T, 3·H·D]`. */
export const qkvAttentionGradKernel: NativeOnlyKernel = (addon) =>
  ((args: KernelArgs) => {
    const op = "BirdVLMQkvAttentionGrad";
    const { qkv } = args.inputs;
    const x = need(args, "qkv", op);
    const { heads, scale } = args.attrs as { heads: number; scale: number };
    const [B, T, width] = qkv.shape;
    const D = width / (3 * heads);
    const dx = output(args.backend, x.length);
    const dy = need(args, "dy", op);
    addon.attentionGrad(
      x,
      x,
      x,
      null,
      dy,
      dx,
      dx,
      dx,
      [B, heads, heads, T, T, T, D],
      scale,
      false,
      0,
      0,
      [0, 0, 0, 0],
      true,
    );
    return args.backend.makeTensorInfo(qkv.shape, "float32", dx);
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
