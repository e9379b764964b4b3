// Softmax along the last axis.
import { f32, type NativeKernel, output, sizeOf, withFallback } from "./util.js";

/** Softmax (attr `dim`: native when it is the last axis). */
export const softmax: NativeKernel = (addon, cpu) =>
  withFallback(cpu, ({ inputs: { logits }, backend, attrs }) => {
    const xv = f32(backend, logits);
    const rank = logits.shape.length;
    const dim = (attrs as { dim: number }).dim;
    if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined;
    const cols = logits.shape[rank - 1];
    const out = output(backend, xv.length);
    if (cols > 0) addon.softmax(xv, out, sizeOf(logits.shape) / cols, cols);
    return backend.makeTensorInfo(logits.shape, "float32", out);
  });
