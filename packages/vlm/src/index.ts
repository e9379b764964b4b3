/**
 * `@birdvlm/vlm`.
 * @packageDocumentation
 */
export {};
