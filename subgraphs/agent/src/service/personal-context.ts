import { CONSENT_REQUIRED, healthSummaryId, ServiceCallError, type Logger } from '@suoke/platform';
import type { CitationRef } from '../db/schema.js';

/**
 * The user's own data an agent may use (issue 20), read through the other
 * subgraphs' public API with a delegated token: the agent's service credential
 * asks the user subgraph to mint one (`delegateAgentAccess`), which carries
 * only what the user granted at that moment, then reads `me { … }` with it.
 * Health and diagnosis audit each read with the user and `service:agent`.
 */

export type AgentAccessScope = 'HEALTH_SUMMARY' | 'HEALTH_PROFILE' | 'REPORTS';

export interface PersonalContext {
  userId: string;
  grantVersion: string;
  scopes: AgentAccessScope[];
  healthSummary?: {
    days: number;
    from: string;
    to: string;
    items: Array<{ type: string; count: number; average: number | null; min: number | null; max: number | null; latest: number | null; unit?: string | null }>;
  };
  /**
   * Only non-identifying fields: `sex`, `ageYears` (whole years, from the birth date, which is not kept),
   * `heightCm`, `bloodType`. Never the free-text `conditions` (the delegated token cannot read them either).
   */
  healthProfile?: Record<string, unknown>;
  latestReport?: { id: string; createdAt: string; primaryConstitution: string; secondaryConstitutions: string[]; suggestedSyndromes: string[]; confidence: number };
}

export interface PersonalContextSource {
  /** null when the user granted nothing; fields absent when not granted/available. Mints a fresh delegated token per call (revocation takes effect on the next message). */
  load(userId: string, want: readonly AgentAccessScope[], signal?: AbortSignal): Promise<PersonalContext | null>;
}

/** The window of the health summary: the week the issue asks an agent to know. */
const SUMMARY_DAYS = 7;
const CALL_TIMEOUT_MS = 3_000;

const MINT = `mutation AgentDelegateAccess($userId: ID!) {
  delegateAgentAccess(userId: $userId) { token expiresAt scopes grantVersion }
}`;

const READ = `query AgentPersonalContext($days: Int!, $summary: Boolean!, $profile: Boolean!, $report: Boolean!) {
  me {
    id
    healthSummary(days: $days) @include(if: $summary) { type unit count average min max latest }
    healthProfile @include(if: $profile) { sex birthDate heightCm bloodType }
    latestReport @include(if: $report) {
      id createdAt confidence
      primaryConstitution { code }
      secondaryConstitutions { code }
      suggestedSyndromes { code }
    }
  }
}`;

interface GraphQLBody<T> {
  data?: T | null;
  errors?: Array<{ message?: string; path?: unknown[]; extensions?: { code?: string } }>;
}

interface ReadData {
  me: {
    id: string;
    healthSummary?: Array<{ type: string; unit: string; count: number; average: number; min: number; max: number; latest: number }> | null;
    healthProfile?: { sex: string | null; birthDate: string | null; heightCm: number | null; bloodType: string | null } | null;
    latestReport?: {
      id: string;
      createdAt: string;
      confidence: number;
      primaryConstitution: { code: string };
      secondaryConstitutions: Array<{ code: string }>;
      suggestedSyndromes: Array<{ code: string }>;
    } | null;
  } | null;
}

/**
 * The personal context source that reads through the gateway at `url`.
 * `serviceToken` is the agent's credential holding `agent-access:delegate`.
 * A refusal for want of consent is `null`; a gateway that cannot be reached
 * (or answers with an error) rejects with a ServiceCallError, and the caller
 * answers without personal context.
 */
export function gatewayPersonalContext(options: { url: string; serviceToken: () => Promise<string | undefined>; log: Logger }): PersonalContextSource {
  async function post<T>(operationName: string, query: string, variables: Record<string, unknown>, token: string | undefined, signal?: AbortSignal): Promise<GraphQLBody<T>> {
    const timeout = AbortSignal.timeout(CALL_TIMEOUT_MS);
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ operationName, query, variables }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      throw new ServiceCallError(`${operationName}: the gateway could not be reached`, { transient: true, cause: error });
    }
    const body = (await response.json().catch(() => undefined)) as GraphQLBody<T> | undefined;
    if (!body) throw new ServiceCallError(`${operationName}: HTTP ${response.status} without a GraphQL body`, { transient: response.status >= 500 });
    return body;
  }

  return {
    async load(userId, want, signal) {
      const minted = await post<{ delegateAgentAccess: { token: string; expiresAt: string; scopes: AgentAccessScope[]; grantVersion: string } | null }>(
        'AgentDelegateAccess',
        MINT,
        { userId },
        await options.serviceToken(),
        signal,
      );
      const mintError = minted.errors?.[0];
      if (mintError?.extensions?.code === CONSENT_REQUIRED) return null;
      const grant = minted.data?.delegateAgentAccess;
      if (mintError || !grant) {
        const code = mintError?.extensions?.code;
        throw new ServiceCallError(`AgentDelegateAccess: ${mintError?.message ?? 'no token'}${code ? ` (${code})` : ''}`, { transient: !code || code === 'SERVICE_UNAVAILABLE', code });
      }
      const context: PersonalContext = { userId, grantVersion: grant.grantVersion, scopes: [...grant.scopes] };
      const scopes = grant.scopes.filter((scope) => want.includes(scope));
      if (scopes.length === 0) return context;

      const to = new Date();
      const from = new Date(to.getTime() - SUMMARY_DAYS * 86_400_000);
      const read = await post<ReadData>(
        'AgentPersonalContext',
        READ,
        { days: SUMMARY_DAYS, summary: scopes.includes('HEALTH_SUMMARY'), profile: scopes.includes('HEALTH_PROFILE'), report: scopes.includes('REPORTS') },
        grant.token,
        signal,
      );
      const me = read.data?.me;
      if (read.errors?.length) {
        // A part that failed is left out; the rest is still used. Never log values: codes and paths only.
        options.log.warn({ errors: read.errors.map((e) => ({ code: e.extensions?.code, path: e.path })) }, 'personal context partly unavailable');
      }
      if (!me || me.id.toLowerCase() !== userId.toLowerCase()) {
        throw new ServiceCallError('AgentPersonalContext: the delegated read returned no user', { transient: true });
      }
      if (me.healthSummary) {
        context.healthSummary = {
          days: SUMMARY_DAYS,
          from: from.toISOString(),
          to: to.toISOString(),
          items: me.healthSummary.map((s) => ({ type: s.type, count: s.count, average: s.average, min: s.min, max: s.max, latest: s.latest, unit: s.unit })),
        };
      }
      if (me.healthProfile) context.healthProfile = profileFacts(me.healthProfile, to);
      if (me.latestReport) {
        const r = me.latestReport;
        context.latestReport = {
          id: r.id,
          createdAt: r.createdAt,
          primaryConstitution: r.primaryConstitution.code,
          secondaryConstitutions: r.secondaryConstitutions.map((c) => c.code),
          suggestedSyndromes: r.suggestedSyndromes.map((s) => s.code),
          confidence: r.confidence,
        };
      }
      return context;
    },
  };
}

/** The profile without its birth date: the age in whole years stands for it. */
function profileFacts(profile: NonNullable<NonNullable<ReadData['me']>['healthProfile']>, now: Date): Record<string, unknown> {
  const facts: Record<string, unknown> = {};
  if (profile.sex) facts.sex = profile.sex;
  if (profile.birthDate) {
    const born = new Date(`${profile.birthDate}T00:00:00Z`);
    let age = now.getUTCFullYear() - born.getUTCFullYear();
    if (now.getUTCMonth() < born.getUTCMonth() || (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())) age -= 1;
    if (Number.isFinite(age) && age >= 0) facts.ageYears = age;
  }
  if (profile.heightCm !== null) facts.heightCm = profile.heightCm;
  if (profile.bloodType) facts.bloodType = profile.bloodType;
  return facts;
}

const round = (value: number | null | undefined) => (value === null || value === undefined ? 'n/a' : String(Math.round(value * 10) / 10));
/** Enum-like values only (`YANG_DEFICIENT`, `FEMALE`): anything else is dropped rather than passed on. */
const code = (value: unknown) => (typeof value === 'string' && /^[A-Z][A-Z0-9_]{0,40}$/.test(value) ? value : undefined);

/** What may leave the system for an external model: a short textual summary, never ids, email or free text; null when mode is 'off' or ctx is null. */
export function summariseForProvider(ctx: PersonalContext | null, mode: 'off' | 'summary'): string | null {
  if (mode === 'off' || !ctx) return null;
  const lines: string[] = [];
  const summary = ctx.healthSummary;
  if (summary && summary.items.length > 0) {
    const items = summary.items
      .filter((item) => code(item.type))
      .map((item) => {
        const unit = item.unit && /^[\w/%°.·-]{1,12}$/u.test(item.unit) ? ` ${item.unit}` : '';
        return `${item.type}: ${item.count} readings, average ${round(item.average)}${unit}, range ${round(item.min)}–${round(item.max)}, latest ${round(item.latest)}`;
      });
    if (items.length > 0) lines.push(`Observations over the last ${summary.days} days: ${items.join('; ')}.`);
  }
  const profile = ctx.healthProfile;
  if (profile) {
    const facts: string[] = [];
    if (code(profile.sex)) facts.push(`sex ${String(profile.sex)}`);
    if (typeof profile.ageYears === 'number') facts.push(`age ${Math.floor(profile.ageYears / 10) * 10}–${Math.floor(profile.ageYears / 10) * 10 + 9}`);
    if (typeof profile.heightCm === 'number') facts.push(`height ${Math.round(profile.heightCm)} cm`);
    if (code(profile.bloodType)) facts.push(`blood type ${String(profile.bloodType)}`);
    if (facts.length > 0) lines.push(`Profile: ${facts.join(', ')}.`);
  }
  const report = ctx.latestReport;
  if (report) {
    const secondary = report.secondaryConstitutions.map(code).filter(Boolean);
    const syndromes = report.suggestedSyndromes.map(code).filter(Boolean);
    lines.push(
      [
        `Latest constitution screening (${report.createdAt.slice(0, 7)}): primary ${code(report.primaryConstitution) ?? 'unknown'}`,
        secondary.length ? `secondary ${secondary.join(', ')}` : undefined,
        syndromes.length ? `suggested syndromes ${syndromes.join(', ')}` : undefined,
        `confidence ${round(report.confidence)}`,
      ]
        .filter(Boolean)
        .join('; ') + '.',
    );
  }
  if (lines.length === 0) return null;
  return ['Personal context the user consented to share (a self-care screening, not a diagnosis):', ...lines].join('\n');
}

/** The CitationRef entries (agent db/schema.ts) for the personal items a reply used. */
export function personalCitations(ctx: PersonalContext, used: readonly AgentAccessScope[]): CitationRef[] {
  const out: CitationRef[] = [];
  const summary = ctx.healthSummary;
  if (summary && used.includes('HEALTH_SUMMARY')) {
    const from = new Date(summary.from);
    const to = new Date(summary.to);
    for (const item of summary.items) out.push({ kind: 'HEALTH_SUMMARY', key: healthSummaryId({ userId: ctx.userId, type: item.type, from, to }) });
  }
  // The profile has no citable entity of its own (the issue cites summaries and reports).
  if (ctx.latestReport && used.includes('REPORTS')) out.push({ kind: 'DIAGNOSIS_REPORT', key: ctx.latestReport.id });
  return out;
}
