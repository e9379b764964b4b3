/**
 * What BirdVLM reads from a WebGPU adapter: its description for `BackendInfo.details`, and whether it is a
 * software rasterizer (Mesa lavapipe/llvmpipe, SwiftShader, WARP) rather than a real GPU.
 */

/** The fields of `GPUAdapterInfo` (WebGPU) that BirdVLM reads; all optional since implementations differ. */
export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  /** Dawn's non-standard adapter type (`discrete GPU`, `integrated GPU`, `CPU`, `unknown`), where present. */
  adapterType?: string;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i;

/** True when the adapter computes on the CPU (a fallback adapter, or a known software Vulkan/D3D driver). */
export function isSoftwareAdapter(info: AdapterInfoLike): boolean {
  if (info.isFallbackAdapter) return true;
  if (/^cpu$/i.test(info.adapterType ?? "")) return true;
  if ((info.architecture ?? "").toLowerCase() === "software") return true;
  return [info.vendor, info.device, info.description].some((s) => SOFTWARE.test(s ?? ""));
}

/** The adapter as flat strings for `BackendInfo.details`: vendor, architecture, device, description, software. */
export function describeAdapter(info: AdapterInfoLike): Record<string, string> {
  return {
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
    software: String(isSoftwareAdapter(info)),
  };
}
