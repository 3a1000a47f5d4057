import { definition } from './server.js';

/** The committed SQL migrations of this subgraph (tables, then the four agents), applied to schema "agent". */
export const migrationsDir = definition.migrationsDir;
export const migrate = definition.migrate;
