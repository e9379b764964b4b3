/**
 * `@birdvlm/projector`.
 * @packageDocumentation
 */
export {};
