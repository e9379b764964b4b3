/**
 * `@birdvlm/vit`.
 * @packageDocumentation
 */
export {};
