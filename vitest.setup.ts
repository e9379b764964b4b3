// Every test file runs on the backend that `initBackend()` picks (env BIRDVLM_BACKEND overrides),
// so the whole suite can be run once per backend.
import { initBackend } from "@birdvlm/core";

await initBackend();
