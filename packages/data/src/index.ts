/**
 * `@birdvlm/data`.
 * @packageDocumentation
 */
export {};
