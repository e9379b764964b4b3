import { describe, expect, it } from "vitest";
import { tf } from "../tf.js";
import { currentBackend, initBackend } from "./init-backend-browser.js";

// The page's initBackend, run in Node: no navigator.gpu here, as in a browser without WebGPU. (The page test,
// examples/web/page.test.ts, runs it in Chromium: auto, wasm and webgpu.)
describe("initBackend in a page", () => {
  it("refuses Node's backends, naming where it runs", async () => {
    await expect(initBackend("tensorflow")).rejects.toThrow(
      /initBackend\('tensorflow'\): not available in a web page \(use auto, webgpu, wasm or cpu\)/,
    );
  });

  it("says what is missing when asked for WebGPU without navigator.gpu", async () => {
    await expect(initBackend("webgpu")).rejects.toThrow(/no navigator\.gpu \(WebGPU needs a secure context\)/);
  });

  it("starts wasm and cpu by name, and remembers the one chosen", async () => {
    const wasm = await initBackend("wasm");
    expect(wasm).toMatchObject({ name: "wasm" });
    expect(wasm.threads).toBeGreaterThanOrEqual(1);
    expect(tf.getBackend()).toBe("wasm");
    expect(currentBackend()).toBe(wasm);
    expect(await initBackend("wasm")).toBe(wasm);
    expect(await initBackend("cpu")).toMatchObject({ name: "cpu", threads: 1 });
    expect(tf.getBackend()).toBe("cpu");
  });
});
