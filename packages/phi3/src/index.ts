/**
 * `@birdvlm/phi3`.
 * @packageDocumentation
 */
export {};
