import { definition } from './server.js';

/** The committed SQL migrations of this subgraph, applied to schema "user". */
export const migrationsDir = definition.migrationsDir;
export const migrate = definition.migrate;
