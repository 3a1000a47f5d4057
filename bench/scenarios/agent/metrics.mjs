// What the agent scenario reads besides the replies: classes of outcome, the services' logs and /metrics.
import { existsSync, readFileSync } from 'node:fs';
import { cpuSeconds, metricsHeaders, round } from '../../lib.mjs';

export const mean = (values) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN);

/**
 * Which replies needed no provider call of their own. Replies that name the
 * same provider call shared it: those whose request started before the
 * provider answered were in flight together (one of them made the call, the
 * rest joined it: single-flight); those that started after were served from
 * the reply cache.
 */
export function classify(results, answeredAt) {
  const byCall = new Map();
  for (const r of results) {
    if (!r.ok || r.call === undefined) continue;
    const list = byCall.get(r.call) ?? [];
    list.push(r);
    byCall.set(r.call, list);
  }
  let cacheHits = 0;
  let joined = 0;
  for (const [call, list] of byCall) {
    const answered = answeredAt.get(call) ?? Infinity;
    const before = list.filter((r) => r.startedAt < answered);
    cacheHits += list.length - before.length;
    joined += Math.max(0, before.length - 1);
    for (const r of list) r.kind = r.startedAt < answered ? 'model' : 'cache';
  }
  return { cacheHits, joined, modelReplies: byCall.size };
}

/**
 * What the stack's JSON logs (LOG_FILE, one file per run) tell about the agent's provider path, and the
 * first few errors any service logged.
 */
export function readLogs(file, from = 0) {
  const counts = { fallbacks: 0, breakerOpened: 0, knowledgeFailed: 0, knowledgeReasons: {}, errors: [], warnings: {} };
  if (!existsSync(file)) return counts;
  for (const line of readFileSync(file).subarray(from).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const msg = String(entry.msg ?? '');
    if (msg.includes('the offline responder answers instead')) counts.fallbacks += 1;
    else if (msg.includes('circuit breaker opened')) counts.breakerOpened += 1;
    else if (msg.includes('knowledge search failed')) {
      counts.knowledgeFailed += 1;
      const reason = String(entry.err?.message ?? 'unknown').slice(0, 120);
      counts.knowledgeReasons[reason] = (counts.knowledgeReasons[reason] ?? 0) + 1;
    }
    if (entry.level >= 50 && counts.errors.length < 5) counts.errors.push(`${entry.service ?? '?'}: ${msg} ${String(entry.err?.message ?? '').slice(0, 200)}`);
    if (entry.level >= 40) {
      const key = `${entry.service ?? '?'}: ${msg.slice(0, 100)}${entry.err?.message ? ` (${String(entry.err.message).slice(0, 100)})` : ''}`;
      counts.warnings[key] = (counts.warnings[key] ?? 0) + 1;
    }
  }
  return counts;
}

/** Sums of the Prometheus series named, over the label sets that contain `labels` (e.g. `subgraph="agent"`). */
export async function scrape(graphqlUrl, names, labels = '') {
  const sums = Object.fromEntries(names.map((n) => [n, 0]));
  try {
    const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'), { headers: metricsHeaders })).text();
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
      if (match && match[1] in sums && (match[2] ?? '').includes(labels)) sums[match[1]] += Number(match[3]);
    }
  } catch {
    // a missing figure reads as 0
  }
  return sums;
}

/**
 * Where a reply's time goes: inside the agent (its GraphQL request duration) and as the gateway sees the agent
 * fetch (connection wait included), averaged over the fetches of the measured run; CPU-seconds of each process.
 */
export async function timings(stack) {
  const agent = await scrape(stack.subgraphUrls.agent, ['suoke_graphql_request_duration_seconds_sum', 'suoke_graphql_request_duration_seconds_count']);
  const gateway = await scrape(stack.gatewayUrl, ['suoke_subgraph_fetch_duration_seconds_sum', 'suoke_subgraph_fetch_duration_seconds_count'], 'subgraph="agent"');
  const cpu = Object.fromEntries(Object.entries(stack.processes).map(([name, child]) => [name, cpuSeconds(child.pid)]));
  return { agent, gateway, cpu };
}

/** Second model requests the agent sent by hedging (LLM_HEDGE_DELAY_MS), by outcome, from its /metrics. */
export async function hedgeCounts(stack) {
  const counts = {};
  for (const outcome of ['won', 'lost', 'failed']) {
    counts[outcome] = (await scrape(stack.subgraphUrls.agent, ['suoke_agent_llm_hedges_total'], `outcome="${outcome}"`)).suoke_agent_llm_hedges_total;
  }
  return counts;
}

export function timingDelta(before, after, messages) {
  const avg = (a, b, sum, count) => round(((b[sum] - a[sum]) / Math.max(1, b[count] - a[count])) * 1000, 0);
  const cpu = Object.fromEntries(Object.keys(after.cpu).map((name) => [name, round(((after.cpu[name] - before.cpu[name]) * 1000) / messages, 1)]));
  return {
    agentRequestAvgMs: avg(before.agent, after.agent, 'suoke_graphql_request_duration_seconds_sum', 'suoke_graphql_request_duration_seconds_count'),
    gatewayAgentFetchAvgMs: avg(before.gateway, after.gateway, 'suoke_subgraph_fetch_duration_seconds_sum', 'suoke_subgraph_fetch_duration_seconds_count'),
    cpuMsPerMessage: cpu,
  };
}

/** The agent's breaker series on its /metrics, if it exports them. */
export async function breakerMetrics(agentGraphqlUrl) {
  try {
    const text = await (await fetch(agentGraphqlUrl.replace(/\/graphql$/, '/metrics'), { headers: metricsHeaders })).text();
    return text.split('\n').filter((l) => l.startsWith('suoke_circuit_breaker_'));
  } catch (error) {
    return [`unreadable: ${error.message}`];
  }
}
