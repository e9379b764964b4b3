// `tsx bench/profile-step.ts [--steps <n>] [--top <n>] [--shapes] [--size 64 --patch 8 --depth 6]`
//
// Per-kernel time of the `train-step-64` model step (bench/cases/train-e2e.ts: ViT 6x192, patch 8 at 64 px,
// batch 32, AdamW, clipping) on the native backend: every kernel registered for the active backend is wrapped
// with a timer (the kernels wait for each other here, `BIRDVLM_ASYNC=0` unless set, so a kernel's wall time is
// its cost), and what the step spends outside kernels (TF.js bookkeeping, tape, JavaScript) is reported as
// overhead. `--shapes` splits each kernel by its input shapes.
import "../scripts/tfjs-resolve-hook.js";

process.env.BIRDVLM_ASYNC ??= "0"; // read by the addon when it loads (below)
import type { tf as TF } from "@birdvlm/core";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const steps = flag("--steps", 10);
const top = flag("--top", 25);
const byShape = args.includes("--shapes");
const shape = { size: flag("--size", 64), patch: flag("--patch", 8), depth: flag("--depth", 6) };

const { initBackend, tf } = await import("@birdvlm/core");
const { model, stepper } = await import("./cases/train-e2e.js");
const info = await initBackend((process.env.BIRDVLM_BACKEND ?? "auto") as never);

interface Row {
  ms: number;
  calls: number;
}
const table = new Map<string, Row>();
let recording = false;
const backend = tf.getBackend();
for (const config of tf.getKernelsForBackend(backend)) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, backend);
  tf.registerKernel({
    ...config,
    kernelFunc: ((a: { inputs: Record<string, TF.TensorInfo> }) => {
      if (!recording) return inner(a as never);
      const t0 = performance.now();
      const out = inner(a as never);
      const ms = performance.now() - t0;
      const shapes = byShape
        ? ` ${Object.values(a.inputs)
            .map((t) => (t ? `[${t.shape.join(",")}]` : "-"))
            .join(" ")}`
        : "";
      const key = config.kernelName + shapes;
      const row = table.get(key) ?? { ms: 0, calls: 0 };
      row.ms += ms;
      row.calls++;
      table.set(key, row);
      return out;
    }) as TF.KernelFunc,
  });
}

const vit = model(shape, 100);
const s = stepper(vit);
const images = tf.randomNormal([32, shape.size, shape.size, 3], 0, 1, "float32", 1) as TF.Tensor4D;
const labels = tf.tensor1d(
  Array.from({ length: 32 }, (_, i) => i % 100),
  "int32",
);
for (let i = 0; i < 2; i++) await s.step(images, labels);
const before = tf.memory().numTensors;
recording = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await s.step(images, labels);
const total = (performance.now() - t0) / steps;
recording = false;
const kernels = [...table.values()].reduce((a, r) => a + r.ms, 0) / steps;
const calls = [...table.values()].reduce((a, r) => a + r.calls, 0) / steps;
console.log(
  `backend ${info.name} (${JSON.stringify(info.details ?? {})}), ${steps} steps: ${total.toFixed(1)} ms/step ` +
    `(${((32 * 1000) / total).toFixed(1)} img/s), kernels ${kernels.toFixed(1)} ms in ${calls.toFixed(0)} calls, ` +
    `outside kernels ${(total - kernels).toFixed(1)} ms; tensors ${before} -> ${tf.memory().numTensors}`,
);
const rows = [...table.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
console.log("kernel".padEnd(byShape ? 70 : 28), "ms/step".padStart(8), "share".padStart(6), "calls/step".padStart(10));
for (const [name, r] of rows) {
  console.log(
    name.padEnd(byShape ? 70 : 28),
    (r.ms / steps).toFixed(2).padStart(8),
    `${((100 * r.ms) / steps / total).toFixed(1)}%`.padStart(6),
    (r.calls / steps).toFixed(0).padStart(10),
  );
}
tf.dispose([images, labels]);
s.dispose();
vit.dispose();
