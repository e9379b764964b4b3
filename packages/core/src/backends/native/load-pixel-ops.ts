import { loadAddon } from "./addon.js";
import type { NativePixelOps } from "./pixel-ops.js";

/**
 * The native pixel operations when the native addon loads (whatever the active TF.js backend; Node only), else
 * undefined (the caller keeps its JavaScript). Env `BIRDVLM_NATIVE_PIXELS=0` turns them off.
 */
export function nativePixelOps(): NativePixelOps | undefined {
  if (process.env.BIRDVLM_NATIVE_PIXELS === "0") return undefined;
  try {
    const addon = loadAddon();
    return typeof addon.resampleCrops === "function" ? addon : undefined;
  } catch {
    return undefined;
  }
}
