/**
 * Test helper: whether this test file runs on the `webgpu` backend. The WebGPU tests run in the CI step
 * `scripts/test-webgpu.sh` (env `BIRDVLM_BACKEND=webgpu`, where `initBackend` fails outright without an
 * adapter, so they cannot skip silently there); on other backends they skip.
 */
import { tf } from "../../tf.js";

/** True when the active TF.js backend is `webgpu`. */
export function onWebGPU(): boolean {
  const yes = tf.getBackend() === "webgpu";
  if (!yes) console.warn("skipping WebGPU tests: run them with BIRDVLM_BACKEND=webgpu (scripts/test-webgpu.sh)");
  return yes;
}
