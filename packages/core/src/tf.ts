/**
 * The one TensorFlow.js instance that every BirdVLM package shares.
 *
 * `@tensorflow/tfjs-core` alone registers no gradients, so this module registers all of them once;
 * every package imports `tf` from `@birdvlm/core` and never from TF.js directly.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";

export { tf };
