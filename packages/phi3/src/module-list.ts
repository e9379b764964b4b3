import { Module } from "@birdvlm/core";

// Reference: PyTorch `torch.nn.ModuleList` (torch/nn/modules/container.py).
/** An ordered list of child modules named `0`, `1`, ... (like PyTorch's `nn.ModuleList`). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[];

  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.registerModule(String(i), m));
  }
}
