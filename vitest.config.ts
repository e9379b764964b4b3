import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      "@birdvlm/core": pkg("core"),
      "@birdvlm/data": pkg("data"),
      "@birdvlm/vit": pkg("vit"),
      "@birdvlm/projector": pkg("projector"),
      "@birdvlm/phi3": pkg("phi3"),
      "@birdvlm/vlm": pkg("vlm"),
    },
  },
  test: {
    setupFiles: ["./vitest.setup.ts"],
    include: ["packages/*/src/**/*.test.ts", "bench/**/*.test.ts", "testing/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
