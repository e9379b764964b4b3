/**
 * `@birdvlm/core`: tensor contracts, backend selection, safetensors, named parameters, optimizers,
 * schedules, checkpoints and the training loop shared by every BirdVLM package.
 * @packageDocumentation
 */
export { tf } from "./tf.js";
export * from "./contracts.js";
export { initBackend, currentBackend, type BackendName, type BackendInfo } from "./backend.js";
export { Module, transposeLast2, type ParameterOptions, type LoadStateDictOptions } from "./module.js";
