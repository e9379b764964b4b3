import type { tf } from "../../../tf.js";
import type { NativeAddon } from "../addon.js";

/** A native-only kernel (no cpu counterpart): given the loaded addon, the TF.js kernel function. */
export type NativeOnlyKernel = (addon: NativeAddon) => tf.KernelFunc;
