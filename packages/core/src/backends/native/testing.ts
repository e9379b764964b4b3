/**
 * Test helpers of the native backend: whether its tests run here, and a describe block switched to it (or to
 * plain cpu, for the TF.js fallbacks) with the suite's own backend restored afterwards.
 */
import { afterAll, beforeAll } from "vitest";
import { tf } from "../../tf.js";
import { currentBackend, initBackend } from "../init-backend.js";
import { useNative } from "./use-native.js";
import { findAddon } from "./addon.js";

/** Skip native tests when the addon is not built, except under CI, where a missing addon must fail. */
export const skipWithoutAddon = findAddon() === undefined && process.env.CI !== "true";

/** Call inside a `describe`: its tests run on the native backend. */
export function onNativeBackend(): void {
  beforeAll(async () => {
    await import("@tensorflow/tfjs-backend-cpu");
    await useNative();
  });
  afterAll(restoreSuiteBackend);
}

/** Call inside a `describe`: its tests run on TF.js's plain cpu backend. */
export function onCpuBackend(): void {
  beforeAll(async () => {
    await import("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
  });
  afterAll(restoreSuiteBackend);
}

async function restoreSuiteBackend(): Promise<void> {
  await initBackend();
  const current = currentBackend();
  if (current) await tf.setBackend(current.name);
}
