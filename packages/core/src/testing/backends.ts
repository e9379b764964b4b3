/**
 * Test helpers for backends: a `describe` block run on each backend that is present (as tfjs's
 * `describeWithFlags` runs a test on every backend with the needed flags), and an op run on one backend with
 * its outputs read back, to compare backends value for value (`expectCloseToCpu` does the comparison).
 */
import { afterAll, beforeAll, describe, expect } from "vitest";
import { tf } from "../tf.js";
import { currentBackend, initBackend } from "../backends/init-backend.js";
import { findAddon } from "../backends/native/addon.js";
import { useNative } from "../backends/native/use-native.js";

/** Backends a test can ask for. */
export type TestBackend = "native" | "cpu" | "webgpu";

/** Why a backend is absent here (undefined: present), and whether CI must have it (then absent fails). */
function absence(backend: TestBackend): { why: string; requiredInCI: boolean } | undefined {
  switch (backend) {
    case "cpu":
      return undefined;
    case "native":
      // CI builds the addon, so there its tests run and fail when it is missing.
      return findAddon() === undefined
        ? { why: "the addon is not built (pnpm --filter @birdvlm/core build:native)", requiredInCI: true }
        : undefined;
    case "webgpu":
      // WebGPU tests run in their own step (scripts/test-webgpu.sh: BIRDVLM_BACKEND=webgpu, where initBackend
      // fails outright without an adapter, so they cannot skip silently there).
      return tf.getBackend() === "webgpu"
        ? undefined
        : { why: "run them with BIRDVLM_BACKEND=webgpu (scripts/test-webgpu.sh)", requiredInCI: false };
  }
}

/** Whether `backend` is present here (for tests that need one without switching to it). */
export function hasBackend(backend: TestBackend): boolean {
  return absence(backend) === undefined;
}

/** Makes `backend` the active one (loading it when needed). */
async function activate(backend: TestBackend): Promise<void> {
  if (backend === "native") {
    await import("@tensorflow/tfjs-backend-cpu");
    await useNative();
  } else if (backend === "cpu") {
    await import("@tensorflow/tfjs-backend-cpu");
    await tf.setBackend("cpu");
  } else if (tf.getBackend() !== backend) await tf.setBackend(backend);
}

/** Back to the backend the suite runs on (`initBackend()`'s choice). */
async function restoreSuiteBackend(): Promise<void> {
  await initBackend();
  const current = currentBackend();
  if (current && tf.getBackend() !== current.name) await tf.setBackend(current.name);
}

/**
 * Declares `describe(name, …)` once per backend in `backends`; its tests run with that backend active
 * (switched to before them, the suite's own backend restored after), and `body` gets the backend's name.
 * A backend absent here skips its block with a message, except under CI=true where one CI must have (the
 * native addon) runs and fails. With several backends each block's name ends in `[backend]`.
 *
 * ```ts
 * describeEachBackend("bf16MatMul", ["native", "cpu"], (backend) => {
 *   it("multiplies", () => { ... });
 * });
 * ```
 */
export function describeEachBackend(
  name: string,
  backends: readonly TestBackend[],
  body: (backend: TestBackend) => void,
): void {
  for (const backend of backends) {
    const title = backends.length > 1 ? `${name} [${backend}]` : name;
    const missing = absence(backend);
    const skip = missing !== undefined && !(missing.requiredInCI && process.env.CI === "true");
    if (skip) console.warn(`skipping "${title}": no ${backend} backend here; ${missing!.why}`);
    describe.skipIf(skip)(title, () => {
      beforeAll(() => activate(backend));
      afterAll(restoreSuiteBackend);
      body(backend);
    });
  }
}

/** A tensor read back to the host. */
export interface HostTensor {
  /** Its values, flat. */
  values: Float32Array | Int32Array | Uint8Array;
  /** Its shape. */
  shape: number[];
}

/**
 * Runs `fn` with `backend` active (inside `tf.tidy`) and returns its outputs read back; the backend stays
 * active. For comparing backends: `const [cpu, native] = [await valuesOn("cpu", f), await valuesOn("native", f)]`.
 */
export async function valuesOn(backend: TestBackend, fn: () => tf.Tensor | tf.Tensor[]): Promise<HostTensor[]> {
  await activate(backend);
  const out = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const values = out.map((t) => ({ values: t.dataSync().slice(), shape: t.shape }));
  tf.dispose(out);
  return values;
}

/**
 * Runs `fn` on the cpu backend and on `backend` and expects the same output shapes and every value within
 * `relative` of the cpu's, relative to the largest cpu magnitude of that output (at least 1); the failure names the
 * output's index.
 */
export async function expectCloseToCpu(
  backend: TestBackend,
  fn: () => tf.Tensor | tf.Tensor[],
  relative = 2e-5,
): Promise<void> {
  const want = await valuesOn("cpu", fn);
  const got = await valuesOn(backend, fn);
  expect(got.map((g) => g.shape)).toEqual(want.map((w) => w.shape));
  got.forEach((g, i) => {
    const w = want[i]!.values;
    let worst = 0;
    let scale = 1;
    g.values.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - w[j]!));
      scale = Math.max(scale, Math.abs(w[j]!));
    });
    expect(worst, `output ${i}`).toBeLessThan(relative * scale);
  });
}
