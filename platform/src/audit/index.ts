import { fileURLToPath } from 'node:url';
import { parse } from 'graphql';
import type { SubgraphFeature } from '../feature.js';
import { fragmentSDL } from '../fragments.js';

/**
 * The audit log of a subgraph holding PHI: who read, wrote or was refused
 * which records (never values), one INSERT per request, append-only in the
 * subgraph's own schema, and an admin query to page it.
 *
 * - collector.ts: what one request accessed, grouped in memory.
 * - plugin.ts (with field-at-path.ts): the Apollo plugin that records refusals
 *   and writes the collector after execution.
 * - store.ts: the SQL, the write and the page select.
 * - graphql.ts: the resolver helper of `<name>AuditEvents`.
 * - audit.graphql: the SDL types, linked by a subgraph with
 *   `@link(url: "https://specs.suoke.life/audit/v1.0")`.
 * - migrations/: the `audit_events` table, applied in each linking subgraph's schema.
 */
export const AUDIT_SPEC_URL = 'https://specs.suoke.life/audit/v1.0';

export const audit: SubgraphFeature = {
  name: 'audit',
  specUrl: AUDIT_SPEC_URL,
  sdl: parse(fragmentSDL(AUDIT_SPEC_URL)),
  // From src/audit/ (tests) and dist/audit/ (the build) alike: the SQL ships in src/.
  migrations: { dir: fileURLToPath(new URL('../../src/audit/migrations/', import.meta.url)) },
};

export {
  ANONYMOUS_ACTOR,
  AuditCollector,
  currentTraceId,
  type AuditAction,
  type AuditContext,
  type AuditDenial,
  type AuditOutcome,
  type AuditRecord,
  type PendingAuditEvent,
} from './collector.js';
export { fieldAtPath } from './field-at-path.js';
export { auditEventsPage } from './graphql.js';
export { auditPlugin, type AuditPluginOptions } from './plugin.js';
export { selectAuditEvents, writeAuditEvents, type AuditEventRow, type AuditPageArgs } from './store.js';
