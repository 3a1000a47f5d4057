import type { SubgraphContext } from '@suoke/platform';
import type { Loaders } from './loaders.js';

export type Context = SubgraphContext<Loaders>;
