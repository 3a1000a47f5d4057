import { definition } from './server.js';

/** The committed SQL migrations of this subgraph, applied to schema "knowledge". */
export const migrationsDir = definition.migrationsDir;

/** Applies the SQL migrations, then loads the reference content from src/content/ (see server.ts). */
export const migrate = definition.migrate;
