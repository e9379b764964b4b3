/** `deriveSeed` and `rngFor` live in @birdvlm/core (random/derive-seed.ts); data re-exports them. */
export { deriveSeed, rngFor } from "@birdvlm/core";
