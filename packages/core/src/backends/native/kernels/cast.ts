// Cast with storage that matches the dtype. The cpu backend's Cast returns its input's data unchanged when the
// cast loses nothing (int32 -> float32, bool -> float32, bool -> int32): an Int32Array or Uint8Array then stands
// for a float32 tensor. The cpu kernels read any typed array, but native kernels read float32 storage only, so
// `layerNorm(x, tf.cast(ints, "float32"))` would fail. Here such a result is copied into the array of its dtype.
import { tf } from "../../../tf.js";
import type { KernelArgs, NativeKernel } from "./util.js";

/** The typed array class that stores each dtype on the cpu and native backends. */
const STORAGE: Partial<Record<tf.DataType, Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor>> = {
  float32: Float32Array,
  int32: Int32Array,
  bool: Uint8Array,
};

/** The native Cast: the cpu kernel's result, its data copied into the array type of its dtype when it differs. */
export const cast: NativeKernel = (_addon, cpu) =>
  ((args: KernelArgs) => {
    const out = cpu(args as never) as tf.TensorInfo;
    const want = STORAGE[out.dtype];
    if (!want) return out;
    const values = args.backend.data.get(out.dataId).values as unknown;
    if (values instanceof want || !ArrayBuffer.isView(values)) return out;
    const copy = want.from(values as unknown as ArrayLike<number>);
    args.backend.disposeIntermediateTensorInfo(out);
    return args.backend.makeTensorInfo(out.shape, out.dtype, copy);
  }) as unknown as tf.KernelFunc;
