import type { Logger } from '@suoke/platform';
import type { CitationKind } from '../db/schema.js';
import { ProviderError, type Knowledge, type KnowledgeHit } from '../providers/types.js';
import type { ResilientCall } from './resilience.js';

/**
 * Searches the knowledge base for a question's terms, and for the question itself when `options.question` is given;
 * never throws (an unreachable base is `reachable: false`).
 */
export interface KnowledgeSearch {
  search(terms: readonly string[], prefers: readonly CitationKind[], options?: KnowledgeSearchOptions): Promise<Knowledge>;
}

export interface KnowledgeSearchOptions {
  /** The whole question (≤ 199 characters), searched as one query: what it names is cited before the terms' hits. */
  question?: string;
}

/**
 * Hits of a term below this relevance are scattered words or near spellings, not answers: at least a full-text word
 * match (see `SearchHit.score` in the knowledge subgraph).
 */
const MIN_SCORE = 0.5;
/**
 * Hits of the whole question from this relevance on: the question holds the entry's name (the `mentions` tier, 0.3
 * and up), or better. Such an entry is what the question is about, so it is cited before any term's hit.
 */
const MIN_QUESTION_SCORE = 0.3;
/** Added to the rank of the question's hits: above any term's hit (scores are at most 1.09, plus the bonus). */
const NAMED_BY_QUESTION = 2;
/** Hits asked of the question's search: several entries may be named at once. */
const QUESTION_HITS = 5;
/** Citations per reply. */
const MAX_HITS = 3;
/** A preferred kind wins over another kind this much less relevant. */
const PREFERENCE_BONUS = 0.15;

const ITEM = /* GraphQL */ `
  score kind
  item {
    __typename
    ... on Constitution { code name nameEn summary advice { diet exercise sleep emotions seasons } }
    ... on Herb { id name nameEn actions cautions }
    ... on Acupoint { code name nameEn location selfCare }
    ... on Syndrome { code name nameEn keySigns treatmentPrinciple }
    ... on Article { id title titleEn summary }
  }`;

interface RawHit {
  score: number;
  kind: CitationKind;
  item: Record<string, unknown> & { __typename: string };
}

/**
 * The knowledge subgraph's `search`, reached through the gateway like any
 * client, with the agent's service credential. The terms of one question, and
 * the question itself, go in one request (one aliased `search` each); the best
 * hits across them — entries the question names first, then the terms' — the
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
    async search(terms, prefers, searchOptions = {}) {
      const question = searchOptions.question?.trim() ?? '';
      // The question is searched as itself only when it is more than one of the terms.
      const asked = question !== '' && !terms.includes(question) ? question : undefined;
      if (terms.length === 0 && !asked) return { reachable: true, hits: [] };
      const variables: Record<string, string> = Object.fromEntries(terms.map((term, i) => [`q${i}`, term]));
      const fields = terms.map((_, i) => `t${i}: search(query: $q${i}, first: ${MAX_HITS}) { ${ITEM} }`);
      if (asked) {
        variables.question = asked;
        fields.push(`question: search(query: $question, first: ${QUESTION_HITS}) { ${ITEM} }`);
      }
      const query = `query AgentCitations(${Object.keys(variables).map((name) => `$${name}: String!`).join(', ')}) {
        ${fields.join('\n')}
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
        const { question: named, ...byTerm } = data;
        return { reachable: true, hits: rank(named ?? [], Object.values(byTerm).flatMap((hits) => hits ?? []), prefers) };
      } catch (error) {
        // The terms stay out of the log: they come from a user's health question.
        options.log.warn({ err: error }, 'knowledge search failed: replying without citations');
        return { reachable: false, hits: [] };
      }
    },
  };
}

/** The best hits across the question's search and the terms': entries the question names first, each entry once. */
function rank(named: readonly RawHit[], byTerm: readonly RawHit[], prefers: readonly CitationKind[]): KnowledgeHit[] {
  const best = new Map<string, KnowledgeHit & { rank: number }>();
  const candidates = [
    ...named.map((hit) => ({ hit, min: MIN_QUESTION_SCORE, boost: NAMED_BY_QUESTION })),
    ...byTerm.map((hit) => ({ hit, min: MIN_SCORE, boost: 0 })),
  ];
  for (const { hit, min, boost } of candidates) {
    const parsed = toHit(hit);
    if (!parsed || parsed.score < min) continue;
    const rank = boost + parsed.score + (prefers.includes(parsed.kind) ? PREFERENCE_BONUS : 0);
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
  const english = text(item.nameEn ?? item.titleEn);
  const base = { score: hit.score, ...(english ? { titleEn: english } : {}) };
  switch (item.__typename) {
    case 'Constitution': {
      const advice = (item.advice ?? {}) as Record<string, unknown>;
      const details = Object.fromEntries(['diet', 'exercise', 'sleep', 'emotions', 'seasons'].map((aspect) => [aspect, text(advice[aspect])]).filter(([, v]) => v));
      return { ...base, kind: 'CONSTITUTION', key: String(item.code), title: text(item.name), summary: text(item.summary), details };
    }
    case 'Herb':
      return { ...base, kind: 'HERB', key: String(item.id), title: text(item.name), summary: `功效：${text(item.actions)}`, details: { cautions: text(item.cautions) } };
    case 'Acupoint':
      return { ...base, kind: 'ACUPOINT', key: String(item.code), title: text(item.name), summary: text(item.selfCare), details: { location: text(item.location) } };
    case 'Syndrome':
      return {
        ...base, kind: 'SYNDROME', key: String(item.code), title: text(item.name), summary: `治法：${text(item.treatmentPrinciple)}`, details: { signs: text(item.keySigns) },
      };
    case 'Article':
      return { ...base, kind: 'ARTICLE', key: String(item.id), title: `《${text(item.title)}》`, summary: text(item.summary) };
    default:
      return undefined;
  }
}
