import type { Logger } from '@suoke/platform';
import type { CitationKind } from '../db/schema.js';
import { ProviderError, type Knowledge, type KnowledgeHit } from '../providers/types.js';
import type { ResilientCall } from './resilience.js';

/** Searches the knowledge base for a question's terms; never throws (an unreachable base is `reachable: false`). */
export interface KnowledgeSearch {
  search(terms: readonly string[], prefers: readonly CitationKind[]): Promise<Knowledge>;
}

/**
 * Hits below this relevance are scattered words or near spellings, not answers: at least a full-text word match
 * (see `SearchHit.score` in the knowledge subgraph).
 */
const MIN_SCORE = 0.5;
/** Citations per reply. */
const MAX_HITS = 3;
/** A preferred kind wins over another kind this much less relevant. */
const PREFERENCE_BONUS = 0.15;

const ITEM = /* GraphQL */ `
  score kind
  item {
    __typename
    ... on Constitution { code name summary }
    ... on Herb { id name actions }
    ... on Acupoint { code name selfCare }
    ... on Syndrome { code name treatmentPrinciple }
    ... on Article { id title summary }
  }`;

interface RawHit {
  score: number;
  kind: CitationKind;
  item: Record<string, unknown> & { __typename: string };
}

/**
 * The knowledge subgraph's `search`, reached through the gateway like any
 * client, with the agent's service credential. The terms of one question go in
 * one request (one aliased `search` per term); the best hits across them, the
 * agent's preferred kinds first among equals, become the reply's citations.
 */
export function gatewayKnowledgeSearch(options: {
  url: string;
  /** The service credential; undefined sends none (`search` is public). */
  token: () => Promise<string | undefined>;
  call: ResilientCall;
  log: Logger;
}): KnowledgeSearch {
  return {
    async search(terms, prefers) {
      if (terms.length === 0) return { reachable: true, hits: [] };
      const variables = Object.fromEntries(terms.map((term, i) => [`q${i}`, term]));
      const query = `query AgentCitations(${terms.map((_, i) => `$q${i}: String!`).join(', ')}) {
        ${terms.map((_, i) => `t${i}: search(query: $q${i}, first: ${MAX_HITS}) { ${ITEM} }`).join('\n')}
      }`;
      try {
        const data = await options.call.call(async (signal) => {
          const token = await options.token();
          let response: Response;
          try {
            response = await fetch(options.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
              body: JSON.stringify({ query, variables, operationName: 'AgentCitations' }),
              signal,
            });
          } catch (error) {
            throw new ProviderError('the gateway could not be reached', { transient: true, cause: error });
          }
          const body = (await response.json().catch(() => undefined)) as { data?: Record<string, RawHit[] | null> | null } | undefined;
          // Some aliases may fail (a rate limit, say) while others answer: whatever answered is used.
          if (!body?.data || Object.values(body.data).every((hits) => hits === null)) {
            throw new ProviderError(`the gateway answered HTTP ${response.status} without search results`, { status: response.status, transient: response.status >= 500 });
          }
          return body.data;
        });
        return { reachable: true, hits: rank(Object.values(data).flatMap((hits) => hits ?? []), prefers) };
      } catch (error) {
        // The terms stay out of the log: they come from a user's health question.
        options.log.warn({ err: error }, 'knowledge search failed: replying without citations');
        return { reachable: false, hits: [] };
      }
    },
  };
}

function rank(raw: readonly RawHit[], prefers: readonly CitationKind[]): KnowledgeHit[] {
  const best = new Map<string, KnowledgeHit & { rank: number }>();
  for (const hit of raw) {
    const parsed = toHit(hit);
    if (!parsed || parsed.score < MIN_SCORE) continue;
    const rank = parsed.score + (prefers.includes(parsed.kind) ? PREFERENCE_BONUS : 0);
    const id = `${parsed.kind}:${parsed.key}`;
    const seen = best.get(id);
    if (!seen || seen.rank < rank) best.set(id, { ...parsed, rank });
  }
  return [...best.values()]
    .sort((a, b) => b.rank - a.rank)
    .slice(0, MAX_HITS)
    .map(({ rank: _rank, ...hit }) => hit);
}

function toHit(hit: RawHit): KnowledgeHit | undefined {
  const item = hit.item;
  const text = (value: unknown) => (Array.isArray(value) ? value.join('，') : typeof value === 'string' ? value : '');
  const base = { score: hit.score };
  switch (item.__typename) {
    case 'Constitution':
      return { ...base, kind: 'CONSTITUTION', key: String(item.code), title: text(item.name), summary: text(item.summary) };
    case 'Herb':
      return { ...base, kind: 'HERB', key: String(item.id), title: text(item.name), summary: `功效：${text(item.actions)}` };
    case 'Acupoint':
      return { ...base, kind: 'ACUPOINT', key: String(item.code), title: text(item.name), summary: text(item.selfCare) };
    case 'Syndrome':
      return { ...base, kind: 'SYNDROME', key: String(item.code), title: text(item.name), summary: `治法：${text(item.treatmentPrinciple)}` };
    case 'Article':
      return { ...base, kind: 'ARTICLE', key: String(item.id), title: `《${text(item.title)}》`, summary: text(item.summary) };
    default:
      return undefined;
  }
}
