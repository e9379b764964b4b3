/**
 * Makes TF.js's WebGPU backend (`@tensorflow/tfjs-backend-webgpu`, an optional peer of core) the active one on a
 * given WebGPU implementation, with BirdVLM's WGSL kernels: the browser's `navigator.gpu` in a page
 * ({@link useBrowserWebGPU}), Dawn in Node (`useWebGPU`).
 */
import type { BackendInfo } from "../backend-info.js";
import { tf } from "../../tf.js";
import { warn } from "../../environment.js";
import { describeAdapter, isSoftwareAdapter } from "./adapter.js";
import type { GPUAdapterLike, GPULike } from "./gpu-types.js";
import { registerWebGPUKernels } from "./register.js";

/** Options of `useWebGPU` (and of `initBackend('webgpu')`). */
export interface WebGPUOptions {
  /**
   * Reject software adapters (Mesa lavapipe/llvmpipe, SwiftShader): `auto` sets this so that it takes WebGPU
   * only on a real GPU. Default false: `initBackend('webgpu')` runs on lavapipe too (tests, CI).
   */
  requireHardware?: boolean;
}

/** How one host provides WebGPU to {@link activateWebGPU}. */
export interface WebGPUHost {
  /** The `navigator.gpu` to ask for an adapter. */
  gpu: GPULike;
  /** What to tell the user when there is no adapter. */
  noAdapterHint: string;
  /** Wraps TF.js's backend class (Node adds synchronous reads, which a page has through `OffscreenCanvas`). */
  wrapBackend?<C extends new (...args: any[]) => object>(Base: C): C;
}

let info: BackendInfo | undefined;

/**
 * Asks `host.gpu` for an adapter and device, registers BirdVLM's WGSL kernels on TF.js's WebGPU backend and makes
 * it the active backend. `details` names the adapter. Throws when `@tensorflow/tfjs-backend-webgpu` is missing,
 * no adapter is found, or `requireHardware` is set and the adapter is a software rasterizer.
 */
export async function activateWebGPU(host: WebGPUHost, options: WebGPUOptions = {}): Promise<BackendInfo> {
  const adapter = await host.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error(`initBackend('webgpu'): found no WebGPU adapter. ${host.noAdapterHint}`);
  const adapterInfo = adapter.info ?? {};
  if (options.requireHardware && isSoftwareAdapter(adapterInfo)) {
    throw new Error(
      `initBackend('webgpu'): the adapter is a software rasterizer (${adapterInfo.description || adapterInfo.device})`,
    );
  }
  if (info && tf.getBackend() === "webgpu") return info;

  let webgpu: { WebGPUBackend: new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend };
  try {
    // Registers TF.js's WebGPU kernels (and its own backend factory, replaced below) now that navigator.gpu exists.
    webgpu = (await import("@tensorflow/tfjs-backend-webgpu")) as unknown as typeof webgpu;
  } catch (e) {
    throw new Error(
      `initBackend('webgpu'): @tensorflow/tfjs-backend-webgpu does not load (${(e as Error).message.split("\n")[0]}); ` +
        "install @tensorflow/tfjs-backend-webgpu@4.22.0 next to @birdvlm/core",
    );
  }
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  const Backend = host.wrapBackend ? host.wrapBackend(webgpu.WebGPUBackend) : webgpu.WebGPUBackend;
  tf.registerBackend("webgpu", async () => new Backend(await requestDevice(adapter), adapterInfo), 3);
  registerWebGPUKernels();
  // TF.js runs small ops on the CPU while their inputs are still on the host (e.g. right after a checkpoint
  // load), which changes the last bits of results by where a tensor happens to live: a resumed training run
  // would then not reproduce an uninterrupted one. Keep every op on the GPU.
  tf.env().set("WEBGPU_CPU_FORWARD", false);
  if (!(await tf.setBackend("webgpu"))) throw new Error("initBackend('webgpu'): the webgpu backend did not initialize");
  await tf.ready();
  info = { name: "webgpu", details: describeAdapter(adapterInfo) };
  return info;
}

/**
 * Loads TF.js's WebGPU backend on the page's own WebGPU (`navigator.gpu`). Throws when the browser has none
 * (WebGPU needs a secure context: https or localhost) or it offers no adapter.
 */
export async function useBrowserWebGPU(options: WebGPUOptions = {}): Promise<BackendInfo> {
  const gpu = (globalThis as { navigator?: { gpu?: GPULike } }).navigator?.gpu;
  if (!gpu) throw new Error("initBackend('webgpu'): this browser has no navigator.gpu (WebGPU needs a secure context)");
  return activateWebGPU(
    { gpu, noAdapterHint: "The browser exposes WebGPU but offers no adapter (GPU blocklisted or disabled)." },
    options,
  );
}

const errors: { count: number; last?: string } = { count: 0 };

/**
 * WebGPU errors (validation, out-of-memory) the device reported without a scope to catch them, since
 * `useWebGPU`: Dawn prints them and drops the command buffer they sit in, so results silently keep stale
 * data. Tests assert the count stays 0.
 */
export function webgpuErrors(): { count: number; last?: string } {
  return { ...errors };
}

/** A device with the adapter's full compute limits (as TF.js asks for them), and timestamps where offered. */
async function requestDevice(adapter: GPUAdapterLike): Promise<unknown> {
  const limits = adapter.limits;
  const requiredFeatures = ["timestamp-query"].filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      // Fewer chunks for kernels with many inputs (AddN, Concat); they split at whatever the device allows.
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  (
    device as unknown as { addEventListener?(type: string, f: (e: { error?: { message?: string } }) => void): void }
  ).addEventListener?.("uncapturederror", (e) => {
    errors.count++;
    errors.last = e.error?.message ?? String(e.error);
  });
  void device.lost.then((lost) => {
    if (lost.reason !== "destroyed") warn(`BirdVLM: the WebGPU device was lost (${lost.message ?? lost.reason})`);
  });
  return device;
}
