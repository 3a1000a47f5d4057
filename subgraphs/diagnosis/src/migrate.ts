import { definition } from './server.js';

/** The committed SQL migrations of this subgraph (tables, then the questionnaire), applied to schema "diagnosis". */
export const migrationsDir = definition.migrationsDir;
export const migrate = definition.migrate;
