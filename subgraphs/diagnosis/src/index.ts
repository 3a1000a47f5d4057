// First: patches http, graphql and ioredis before anything below loads them.
import '@suoke/platform/telemetry/start';
import { runSubgraph } from '@suoke/platform';
import { definition } from './server.js';

await runSubgraph(definition);
