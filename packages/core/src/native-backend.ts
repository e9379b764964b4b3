import type { BackendInfo } from "./backend.js";

/** Loads the native (N-API) CPU backend. Not built yet: always fails, so `auto` falls back. */
export async function useNative(): Promise<BackendInfo> {
  throw new Error("the native backend is not built");
}
