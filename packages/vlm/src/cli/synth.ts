import { generateSynthBirds } from "@birdvlm/data";
import { defineCommand } from "./command.js";

/** `birdvlm synth`: draws a SynthBirds dataset in the CUB-200-2011 layout. */
export const synthCommand = defineCommand({
  name: "synth",
  summary: "draw a SynthBirds dataset in the CUB-200-2011 layout",
  synopsis: "--out <dir> [options]",
  flags: {
    out: { type: "string", value: "<dir>", required: true, help: "the dataset's folder" },
    species: { type: "integer", min: 1, default: 12, help: "species to draw" },
    "images-per-species": { type: "integer", min: 1, default: 60, help: "images of each species" },
    "image-size": { type: "integer", min: 8, default: 64, help: "side of the square pictures in pixels" },
    seed: { type: "integer", default: 0, help: "random seed" },
  },
  async run(f, _positionals, { log }) {
    log(`synth: drawing ${f.species} species × ${f["images-per-species"]} images into ${f.out}`);
    await generateSynthBirds(f.out, {
      species: f.species,
      imagesPerSpecies: f["images-per-species"],
      imageSize: f["image-size"],
      seed: f.seed,
    });
    log(`synth: done; read it with 'birdvlm train-vit --data ${f.out} --out vit'`);
    return 0;
  },
});
