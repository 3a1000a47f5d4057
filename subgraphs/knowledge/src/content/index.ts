import { acupoints } from './acupoints.js';
import { articles } from './articles.js';
import { constitutions } from './constitutions.js';
import { foods } from './foods.js';
import { herbs } from './herbs.js';
import { syndromes } from './syndromes.js';

/** All reference content, as `migrate` loads it. */
export const content = { constitutions, herbs, acupoints, syndromes, articles, foods };
export type Content = typeof content;

export { validateContent, MINIMUM_COUNTS } from './validate.js';
export * from './types.js';
