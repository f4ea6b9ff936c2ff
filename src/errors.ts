/**
 * The one catalogue of poolscope's error codes. Every code is listed in docs/reference/errors.md; a test keeps the
 * two in step. Setup calls throw these; awaited calls reject with them; listeners never throw.
 */
// One catalogue, three files: the codes and the base class, the pool errors, the errors of the other surfaces.
// Everything is imported from here.
export * from './errors/poolscope-error.js';
export * from './errors/pool-errors.js';
export * from './errors/area-errors.js';
