import { describe, expect, it } from "vitest";
import { describeAdapter, isSoftwareAdapter } from "./adapter.js";

describe("isSoftwareAdapter", () => {
  it("recognizes Mesa lavapipe as Dawn reports it", () => {
    const lavapipe = {
      vendor: "mesa",
      architecture: "software",
      device: "llvmpipe-llvm-15-0-6-256-bits-",
      description: "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1",
    };
    expect(isSoftwareAdapter(lavapipe)).toBe(true);
    expect(isSoftwareAdapter({ description: "SwiftShader Device (Subzero)" })).toBe(true);
    expect(isSoftwareAdapter({ vendor: "x", isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ adapterType: "CPU" })).toBe(true);
  });

  it("accepts real GPUs", () => {
    expect(
      isSoftwareAdapter({ vendor: "nvidia", architecture: "hopper", device: "", description: "NVIDIA H200" }),
    ).toBe(false);
    expect(
      isSoftwareAdapter({ vendor: "amd", architecture: "rdna-3", description: "AMD Radeon RX 7900 XTX (RADV NAVI31)" }),
    ).toBe(false);
    expect(isSoftwareAdapter({ vendor: "intel", architecture: "gen-12lp", description: "Intel(R) Xe Graphics" })).toBe(
      false,
    );
  });

  it("describes the adapter as strings", () => {
    expect(describeAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" })).toEqual({
      vendor: "nvidia",
      architecture: "hopper",
      device: "",
      description: "NVIDIA H200",
      software: "false",
    });
  });
});
