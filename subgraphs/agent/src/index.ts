import { runSubgraph } from '@suoke/platform';
import { definition } from './server.js';

await runSubgraph(definition);
