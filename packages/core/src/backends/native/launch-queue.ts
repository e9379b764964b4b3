import type { NativeAddon } from "./addon.js";

/**
 * The addon's kernels that queue their work (addon/src/stream.h) and return its sequence number: they return
 * before they have run, so their typed arrays must stay alive until then, and nothing may read or write those
 * arrays from JavaScript before {@link LaunchQueue.synchronize}.
 */
const QUEUED_KERNELS = [
  "matmul",
  "biasActivation",
  "unary",
  "leakyRelu",
  "binary",
  "softmax",
  "reduce",
  "transpose",
  "stridedCopy",
  "normRows",
  "attention",
  "swiglu",
  "bf16MatMul",
  "bf16GatherRows",
  "im2col",
  "col2im",
  "depthwiseConv",
  "depthwiseConvGradInput",
  "depthwiseConvGradFilter",
  "biasActivationGrad",
  "normRowsGrad",
  "adamw",
  "attentionGrad",
  "clipByGlobalNorm",
] as const satisfies ReadonlyArray<keyof NativeAddon>;

/** Launches between two looks at what has run (to let go of the finished launches' arrays). */
const TRIM_EVERY = 256;

/**
 * The JavaScript side of the addon's launch queue: the kernels run in order on the addon's executor thread while
 * JavaScript goes on (TF.js's engine and tape then cost no compute time). This keeps every queued kernel's
 * arguments alive until it has run (a tensor disposed in between must not free a buffer it reads), and
 * {@link synchronize} waits for the queue: the native backend calls it before JavaScript reads or writes a
 * tensor's values (a read back, a cpu kernel, a copy in JavaScript). Env `BIRDVLM_ASYNC=0` turns the queue off.
 */
export class LaunchQueue {
  private pinned: Array<{ seq: number; args: unknown[] }> = [];
  private sinceTrim = 0;

  private constructor(private readonly raw: NativeAddon) {}

  /** The addon with its queued kernels wrapped so that their arguments stay alive until they ran. */
  static wrap(raw: NativeAddon): { addon: NativeAddon; queue: LaunchQueue } {
    const queue = new LaunchQueue(raw);
    if (typeof raw.synchronize !== "function") return { addon: raw, queue }; // an addon built before the queue
    const addon = Object.create(raw) as NativeAddon;
    const table = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    const kernels = raw as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of QUEUED_KERNELS) {
      if (typeof kernels[name] !== "function") continue;
      // Looked up at each call, so that a spy set on the module's function sees the call.
      table[name] = (...args: unknown[]) => {
        const seq = kernels[name]!.apply(raw, args);
        if (typeof seq === "number" && seq > 0) queue.pin(seq, args);
        return undefined;
      };
    }
    return { addon, queue };
  }

  /** Waits until every queued kernel has run (and throws the error of one that failed). */
  synchronize(): void {
    if (this.pinned.length === 0 || typeof this.raw.synchronize !== "function") return;
    this.pinned = [];
    this.sinceTrim = 0;
    this.raw.synchronize();
  }

  /** Kernels launched whose arguments are still held (some may have run since the last look). */
  get pending(): number {
    return this.pinned.length;
  }

  private pin(seq: number, args: unknown[]): void {
    this.pinned.push({ seq, args });
    if (++this.sinceTrim < TRIM_EVERY) return;
    this.sinceTrim = 0;
    const done = this.raw.launchesCompleted();
    let i = 0;
    while (i < this.pinned.length && this.pinned[i]!.seq <= done) i++;
    if (i > 0) this.pinned.splice(0, i);
  }
}
