import { definition } from './server.js';

/** The committed SQL migrations of this subgraph, applied to schema "health". */
export const migrationsDir = definition.migrationsDir;
export const migrate = definition.migrate;
