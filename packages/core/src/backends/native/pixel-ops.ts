// The addon's augmentation of stored pixels, for @birdvlm/data's decoded-pixel cache loader: the arithmetic of its
// JavaScript (`augmentInto`) operation for operation, in C++, over a batch's images on the addon's threads.

/** The native pixel operations of the data pipeline (from {@link nativePixelOps}). */
export interface NativePixelOps {
  /**
   * Bilinear crops of stored RGB bytes: image i (`srcs[i]`, `[height, width, 3]` with `sizes[2i] = width`,
   * `sizes[2i + 1] = height`), its region `regions[4i .. 4i + 3]` (left, top, width, height in pixels), to
   * `[size, size, 3]` floats on the 0..255 scale at `out[i · size² · 3]`, pixel centres aligned and edges clamped;
   * `lumas[i]` gets the sum of its pixels' luma (0.299 R + 0.587 G + 0.114 B). Images over the threads.
   */
  resampleCrops(
    srcs: Uint8Array[],
    sizes: Int32Array,
    regions: Float64Array,
    size: number,
    out: Float32Array,
    lumas: Float64Array,
  ): void;
  /**
   * `[n, size, size, 3]` pixels on the 0..255 scale (n = `flags.length`) through `params[18i ..]` (a colour matrix
   * of 9, row-major, an offset of 3, the mean of 3 and 1 / std of 3): clamped to [0, 1] when bit 0 of `flags[i]` is
   * set, normalized, mirrored when bit 1 is, into `out`. Images over the threads.
   */
  normalizeBatch(input: Float32Array, size: number, params: Float64Array, flags: Uint8Array, out: Float32Array): void;
}
