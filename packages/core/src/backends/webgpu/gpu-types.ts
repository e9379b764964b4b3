/** The parts of the WebGPU API that BirdVLM uses (typed loosely: core has no WebGPU type library). */
import type { AdapterInfoLike } from "./adapter.js";

/** The parts of a WebGPU `GPUAdapter` that BirdVLM uses. */
export interface GPUAdapterLike {
  info?: AdapterInfoLike;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice(descriptor?: unknown): Promise<GPUDeviceLike>;
}

/** The parts of a WebGPU `GPUDevice` that BirdVLM uses. */
export interface GPUDeviceLike {
  lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

/** The parts of `navigator.gpu` that BirdVLM uses. */
export interface GPULike {
  requestAdapter(options?: { powerPreference?: "high-performance" | "low-power" }): Promise<GPUAdapterLike | null>;
}
