/** What a backend reports when it becomes active: the types shared by `initBackend` and each `use…` entry. */

/** Names `initBackend` accepts. `auto` picks the fastest one that loads here. */
export type BackendName = "auto" | "tensorflow" | "native" | "webgpu" | "wasm" | "cpu";

/** What `initBackend` chose. */
export interface BackendInfo {
  /** The TF.js backend name now active (`tensorflow`, `native`, `webgpu`, `wasm` or `cpu`). */
  name: string;
  /** Worker threads the backend computes with, where it has a notion of them. */
  threads?: number;
  /** Extra facts, e.g. the GPU adapter for `webgpu`. */
  details?: Record<string, string>;
}
