/**
 * A drop-in `gradients` for the TF.js engine that frees memory during the backward pass. TF.js keeps every
 * tensor saved for backprop, and the gradient of every intermediate tensor, until the whole backward pass
 * ends, so a training step's peak holds the forward activations plus a gradient for each of them (a ViT-Tiny
 * batch-8 step: 0.8 GB saved + 1.0 GB of intermediate gradients). This version walks the same filtered tape
 * in the same order with the same gradient functions, and disposes each node's saved tensors and its
 * outputs' gradients as soon as that node has been processed. Results are identical; higher-order gradients
 * (nested tapes) use the engine's own implementation.
 */
import { tf } from "../../tf.js";

type Tensor = tf.Tensor;

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, Tensor>;
  outputs: Tensor[];
  gradient?: (dys: (Tensor | null)[]) => Record<string, () => Tensor>;
  saved?: Tensor[];
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T>(name: string | (() => T), f?: () => T): T;
  gradients: GradientsFn;
  frugalGradientsInstalled?: boolean;
}

type GradientsFn = (
  f: () => Tensor,
  xs: Tensor[],
  dy?: Tensor,
  allowNoGradients?: boolean,
) => { value: Tensor; grads: Tensor[] };

/** The nodes of `tape` on a path from some x in `xs` to `y`, with inputs pruned to those that depend on xs. */
export function nodesFromXsToY(tape: TapeNode[], xs: Tensor[], y: Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      nodeFromX.add(node.id);
      for (const o of node.outputs) fromX.add(o.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      const inputs = Object.values(node.inputs);
      for (const t of inputs) toY.add(t.id);
      if (inputs.length > 0) nodeToY.add(node.id);
    }
  }
  const filtered: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    filtered.push({ ...node, inputs, outputs: node.outputs });
  }
  return filtered;
}

/** Replaces `engine.gradients` (once) with the frugal version, used while `backendName` is the active backend. */
export function installFrugalGradients(engine: unknown, backendName: string): void {
  const e = engine as EngineInternals;
  if (e.frugalGradientsInstalled) return;
  const original = e.gradients.bind(e);
  e.gradients = (f, xs, dy, allowNoGradients = false) => {
    if (e.state.gradientDepth > 0 || tf.getBackend() !== backendName) return original(f, xs, dy, allowNoGradients);
    tf.util.assert(xs.length > 0, () => "gradients() received an empty list of xs.");
    if (dy != null && dy.dtype !== "float32") throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    const y = e.scopedRun(
      () => e.startTape(),
      () => e.endTape(),
      () => e.tidy("forward", f),
    );
    tf.util.assert(y instanceof tf.Tensor, () => "The result y returned by f() must be a tensor.");
    const tape = e.state.activeTape ?? [];
    const filtered = nodesFromXsToY(tape, xs, y);
    if (!allowNoGradients && filtered.length === 0 && xs.length > 0) {
      throw new Error(
        "Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all " +
          "operations that lead from x to y.",
      );
    }
    const keep = new Set<number>(xs.map((x) => x.id));
    if (dy != null) keep.add(y.id);
    return e.tidy("backward", () => {
      const acc = new Map<number, Tensor>();
      acc.set(y.id, dy ?? tf.ones(y.shape));
      for (let i = filtered.length - 1; i >= 0; i--) {
        const node = filtered[i];
        const dys = node.outputs.map((o) => acc.get(o.id) ?? null);
        if (node.gradient == null)
          throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
        const inputGradients = node.gradient(dys);
        for (const [name, x] of Object.entries(node.inputs)) {
          if (!(name in inputGradients)) {
            throw new Error(
              `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`,
            );
          }
          const dx = e.tidy(() => inputGradients[name]());
          if (dx.dtype !== "float32") {
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
            );
          }
          if (!tf.util.arraysEqual(dx.shape, x.shape)) {
            throw new Error(
              `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', ` +
                `which does not match the shape of the input '${x.shape}'`,
            );
          }
          const current = acc.get(x.id);
          if (current == null) acc.set(x.id, dx);
          else {
            acc.set(x.id, tf.add(current, dx));
            current.dispose();
          }
        }
        // This node is done: its outputs' gradients and its saved tensors are needed no more.
        for (const o of node.outputs) {
          const g = acc.get(o.id);
          if (g && !keep.has(o.id)) {
            g.dispose();
            acc.delete(o.id);
          }
        }
        for (const t of node.saved ?? []) t.dispose();
      }
      const grads = xs.map((x) => acc.get(x.id)) as Tensor[];
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      e.state.activeTape = null;
      return { value: y, grads };
    });
  };
  e.frugalGradientsInstalled = true;
}
