/**
 * `@birdvlm/projector`: the connector between a vision encoder and a language model — `MlpProjector`
 * (Linear → GELU → Linear), `LinearProjector`, and `PatchPooler` (14×14 → 7×7 tokens, all, or the class token).
 * @packageDocumentation
 */
export {
  resolveProjectorConfig,
  type ProjectorConfig,
  type ProjectorOptions,
  type ProjectorKind,
  type PoolingConfig,
  type PoolingMode,
} from "./config.js";
export { PatchPooler } from "./patch-pooler.js";
export { Projector, readProjectorConfig } from "./projector.js";
export { MlpProjector } from "./mlp-projector.js";
export { LinearProjector } from "./linear-projector.js";
export { createProjector, loadProjector } from "./load.js";
