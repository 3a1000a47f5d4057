/** Tongue photos (望): the checks at submit, metadata stripping, and the classical analysis. */
export { checkPhoto } from './check.js';
export { stripPhoto } from './strip.js';
export { analyseTongue, ANALYSIS_LONG_SIDE } from './analyse.js';
export { PHOTO_CONTENT_TYPES, PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS } from './limits.js';
