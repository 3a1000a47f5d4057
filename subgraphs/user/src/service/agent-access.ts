import { sql } from 'drizzle-orm';
import {
  AGENT_ACCESS_SCOPES,
  arrayParam,
  badInput,
  consentRequired,
  isUuid,
  signDelegatedToken,
  type AgentAccessScope,
  type Database,
  type KeyRing,
} from '@suoke/platform';
import type { AgentAccessRow } from '../db/schema.js';

/**
 * Consent to the agents (issue 20): grants and revocations per scope, each in
 * one statement that also moves the version on, and the short-lived delegated
 * token minted from what is granted at that moment.
 */

/** The consent of a user who never granted anything. */
export function noAccess(userId: string): AgentAccessRow {
  return { userId, scopes: [], version: 0, grantedAt: null, updatedAt: null };
}

/** Scopes in enum order, so that equal grants compare (and cache) equal. */
const ORDERED = sql`array_position(${arrayParam(AGENT_ACCESS_SCOPES, 'text')}, s)`;
const RETURNING = sql`returning user_id::text as "userId", scopes, version::int8 as version, granted_at as "grantedAt", updated_at as "updatedAt"`;

type RawRow = Record<string, unknown> & {
  userId: string;
  scopes: AgentAccessScope[] | string;
  version: number | string;
  grantedAt: Date | string | null;
  updatedAt: Date | string | null;
};

function toRow(raw: RawRow): AgentAccessRow {
  // Raw SQL returns arrays and timestamps per driver: normalise both.
  const scopes = Array.isArray(raw.scopes) ? raw.scopes : raw.scopes.replace(/^\{|\}$/g, '').split(',').filter(Boolean);
  const date = (v: Date | string | null) => (v === null ? null : v instanceof Date ? v : new Date(v));
  return { userId: raw.userId, scopes: scopes as AgentAccessScope[], version: Number(raw.version), grantedAt: date(raw.grantedAt), updatedAt: date(raw.updatedAt) };
}

function requireScopes(scopes: readonly AgentAccessScope[]): void {
  if (scopes.length === 0) throw badInput(`scopes must name at least one of ${AGENT_ACCESS_SCOPES.join(', ')}; received none`, 'input.scopes');
}

export async function selectAgentAccess(database: Database, userIds: readonly string[]): Promise<AgentAccessRow[]> {
  const rows = await database.rows<RawRow>(sql`
    select user_id::text as "userId", scopes, version::int8 as version, granted_at as "grantedAt", updated_at as "updatedAt"
    from "user".agent_access where user_id = any(${arrayParam(userIds, 'uuid')})`);
  return rows.map(toRow);
}

/** Adds `scopes` to what the user granted; `grantedAt` becomes now. */
export async function grantAgentAccess(database: Database, userId: string, scopes: readonly AgentAccessScope[]): Promise<AgentAccessRow> {
  requireScopes(scopes);
  const given = arrayParam([...new Set(scopes)], 'text');
  const [row] = await database.rows<RawRow>(sql`
    insert into "user".agent_access as a (user_id, scopes, version, granted_at, updated_at)
    values (${userId}::uuid, array(select s from unnest(${given}) s order by ${ORDERED}), 1, now(), now())
    on conflict (user_id) do update set
      scopes = array(select s from (select distinct unnest(a.scopes || excluded.scopes) as s) d order by ${ORDERED}),
      version = a.version + 1, granted_at = now(), updated_at = now()
    ${RETURNING}`);
  return toRow(row!);
}

/** Withdraws `scopes`; with nothing left, `grantedAt` is null. Revoking what was never granted still moves the version. */
export async function revokeAgentAccess(database: Database, userId: string, scopes: readonly AgentAccessScope[]): Promise<AgentAccessRow> {
  requireScopes(scopes);
  const taken = arrayParam([...new Set(scopes)], 'text');
  const [row] = await database.rows<RawRow>(sql`
    insert into "user".agent_access as a (user_id, scopes, version, granted_at, updated_at)
    values (${userId}::uuid, '{}', 1, null, now())
    on conflict (user_id) do update set
      scopes = array(select s from unnest(a.scopes) s where s <> all(${taken}) order by ${ORDERED}),
      version = a.version + 1,
      granted_at = case when exists (select 1 from unnest(a.scopes) s where s <> all(${taken})) then a.granted_at end,
      updated_at = now()
    ${RETURNING}`);
  return toRow(row!);
}

export interface DelegatedToken {
  token: string;
  expiresAt: Date;
  scopes: AgentAccessScope[];
  grantVersion: string;
}

/**
 * The delegated token for one user, carrying exactly what is granted now.
 * CONSENT_REQUIRED when nothing is (never granted, all revoked, unknown user),
 * so the agent reads nothing and says so.
 */
export async function mintDelegatedToken(
  database: Database,
  userId: string,
  signing: { key: KeyRing; issuer: string; ttlSeconds: number },
): Promise<DelegatedToken> {
  if (!isUuid(userId)) throw badInput(`userId must be a user id (UUID); received ${JSON.stringify(userId).slice(0, 60)}`, 'userId');
  const [access] = await selectAgentAccess(database, [userId]);
  if (!access || access.scopes.length === 0) throw consentRequired();
  const grantVersion = String(access.version);
  const { token, expiresAt } = await signDelegatedToken({ userId: access.userId, scopes: access.scopes, grantVersion }, signing);
  return { token, expiresAt, scopes: access.scopes, grantVersion };
}
