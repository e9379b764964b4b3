import { LinearProjector } from "./linear-projector.js";
import { MlpProjector } from "./mlp-projector.js";
import { readProjectorConfig, type Projector } from "./projector.js";
import type { ProjectorConfig } from "./config.js";

/** Builds an untrained projector of the kind a config names. */
export function createProjector(config: ProjectorConfig, seed?: number): Projector {
  const options = {
    inputDim: config.inputDim,
    hiddenDim: config.hiddenDim,
    outputDim: config.outputDim,
    pooling: config.pooling,
    seed,
  };
  switch (config.kind) {
    case "mlp":
      return new MlpProjector(options);
    case "linear":
      return new LinearProjector(options);
    default:
      throw new Error(`projector: unknown kind '${(config as { kind: string }).kind}' (expected mlp or linear)`);
  }
}

/** Loads a projector folder written by `save` (`config.json` + `model.safetensors`): a directory, or a URL. */
export async function loadProjector(dir: string): Promise<Projector> {
  const config = await readProjectorConfig(dir);
  const projector = createProjector(config);
  try {
    await projector.loadWeights(dir);
  } catch (e) {
    projector.dispose();
    throw e;
  }
  return projector;
}
