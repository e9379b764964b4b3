// Transpose of float32 tensors up to rank 8.
import { f32, type NativeKernel, output, withFallback } from "./util.js";

/** Transpose (attr `perm`). */
export const transpose: NativeKernel = (addon, cpu) =>
  withFallback(cpu, ({ inputs: { x }, backend, attrs }) => {
    const xv = f32(backend, x);
    const perm = (attrs as { perm: number[] }).perm;
    if (!xv || x.shape.length === 0 || x.shape.length > 8) return undefined;
    const outShape = perm.map((p) => x.shape[p]);
    const out = output(backend, xv.length);
    if (out.length > 0) addon.transpose(xv, out, x.shape, perm);
    return backend.makeTensorInfo(outShape, "float32", out);
  });
