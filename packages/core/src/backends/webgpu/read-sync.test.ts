import { describe, expect, it } from "vitest";
import { tf } from "../../tf.js";
import { hookDawnTicks, processDawnEvents } from "./read-sync.js";
import { useWebGPU } from "./use-webgpu.js";
import { describeEachBackend } from "../../testing/backends.js";

/** An anonymous function that reads as native code, as the callbacks Dawn's binding queues do. */
function nativeLike(f: () => void): () => void {
  return new Proxy(() => f(), {});
}

describe("hookDawnTicks", () => {
  it("runs a queued native callback exactly once, early or from the event loop", async () => {
    hookDawnTicks();
    let early = 0;
    let late = 0;
    setImmediate(nativeLike(() => early++));
    expect(processDawnEvents()).toBe(true);
    expect(early).toBe(1);
    setImmediate(nativeLike(() => late++));
    await new Promise((r) => setTimeout(r, 5));
    expect([early, late]).toEqual([1, 1]);
    expect(processDawnEvents()).toBe(false);
  });

  it("leaves other callbacks to the event loop (with their arguments)", async () => {
    hookDawnTicks();
    const seen: string[] = [];
    setImmediate((a: string) => seen.push(a), "js");
    setImmediate(function named() {
      seen.push("named");
    });
    expect(processDawnEvents()).toBe(false);
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["js", "named"]);
  });
});

describeEachBackend("synchronous reads on webgpu", ["webgpu"], () => {
  it("run no timers or immediates of the program while they wait for the GPU", async () => {
    await useWebGPU();
    let fired = 0;
    const timer = setInterval(() => fired++, 0);
    setImmediate(() => fired++);
    const a = tf.randomNormal([128, 128]);
    for (let i = 0; i < 5; i++) tf.matMul(a, a).dataSync();
    expect(fired).toBe(0);
    clearInterval(timer);
    tf.dispose(a);
  });
});
