// Issue 4's closing figures, re-run for issue 20: 100 concurrent signed-in users
// chatting with the agents through the gateway while the model provider is slow
// (mean 3000 ms) and fails 5 % of its calls; half of the questions are repeated
// from a small pool, half are unique. Half of the users granted the agents
// access to their data; the fake model calls tools (the user's health summary,
// the knowledge base) for a share of questions. Success rate, latency, cache
// hits, provider calls, tokens sent to the provider and tool rounds per reply,
// next to the figures recorded before tools (results/agent.json as it was).
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { callOf, latencySampler, seededRandom, startFakeLlm } from '../fake-llm.mjs';
import { cpuSeconds, log, median, metricsHeaders, percentile, prepareData, record, round, signTokens, startStack } from '../lib.mjs';

const MUTATION = `mutation Ask($input: SendMessageInput!) {
  sendMessage(input: $input) {
    conversation { id }
    reply { text degraded provider }
    citations {
      __typename
      ... on Constitution { code name }
      ... on Herb { id name }
      ... on Article { id title }
      ... on Acupoint { code name }
      ... on Syndrome { code name }
    }
  }
}`;

/** The repeated half: questions many users ask, five per agent. */
const POOL = [
  ['xiaoai', '我总是觉得累，是不是气虚'],
  ['xiaoai', '手脚冰凉、怕冷是什么体质'],
  ['xiaoai', '口干、手心热是阴虚吗'],
  ['xiaoai', '怎么测一测我是什么体质'],
  ['xiaoai', '舌象能看出什么'],
  ['xiaoke', '气虚质适合什么调理方案'],
  ['xiaoke', '湿热体质有什么代茶饮推荐'],
  ['xiaoke', '怎么预约中医问诊'],
  ['xiaoke', '痰湿体质可以吃什么食疗'],
  ['xiaoke', '阳虚质冬天怎么养'],
  ['laoke', '黄芪有什么功效'],
  ['laoke', '什么是九种体质'],
  ['laoke', '血瘀质是什么意思'],
  ['laoke', '足三里穴位在哪里'],
  ['laoke', '气郁质为什么容易叹气'],
  ['soer', '晚上总是睡不着怎么办'],
  ['soer', '压力大、焦虑怎么调节情绪'],
  ['soer', '八段锦适合什么人练'],
  ['soer', '熬夜后早餐吃什么好'],
  ['soer', '经常早醒多梦怎么调理'],
];
/** How people end the same question: all of these are one question to the reply cache's normaliser. */
const ENDINGS = ['', '？', '?', ' ？', '。', '？？'];

const AGENTS = ['xiaoai', 'xiaoke', 'laoke', 'soer'];
const SYMPTOMS = ['总是觉得累', '手脚冰凉', '口干舌燥', '晚上睡不着', '容易出汗', '胃口不好', '脸上长痘', '经常叹气', '容易感冒', '腰膝发冷', '身体沉重', '早上起不来'];
const ASKS = ['应该怎么调理', '饮食上要注意什么', '适合做什么运动', '是什么体质', '需要去看医生吗', '有什么代茶饮', '作息怎么安排', '可以按什么穴位', '吃什么比较好', '和气虚有关吗'];

/** The n-th unique question of this bench invocation: no two alike (mixed radix over age, days, symptom, ask). */
function uniqueQuestion(n) {
  const ask = ASKS[n % ASKS.length];
  const symptom = SYMPTOMS[Math.floor(n / ASKS.length) % SYMPTOMS.length];
  const days = 2 + (Math.floor(n / (ASKS.length * SYMPTOMS.length)) % 59);
  const age = 18 + Math.floor(n / (ASKS.length * SYMPTOMS.length * 59));
  return [AGENTS[n % AGENTS.length], `我今年${age}岁，最近${days}天${symptom}，${ask}？`];
}

/**
 * The requests of one run, shuffled: `count` of them, half drawn from POOL
 * (with an ending drawn from ENDINGS) and half unique. Every message opens a
 * new conversation: a follow-up turn carries its history into the model's
 * context and so, rightly, into the cache key.
 */
function plan(count, random, nextUnique) {
  const requests = [];
  for (let i = 0; i < count; i += 1) {
    if (i % 2 === 0) {
      const [agentId, text] = POOL[Math.floor(random() * POOL.length)];
      requests.push({ repeated: true, agentId, text: `${text}${ENDINGS[Math.floor(random() * ENDINGS.length)]}` });
    } else {
      const [agentId, text] = uniqueQuestion(nextUnique());
      requests.push({ repeated: false, agentId, text });
    }
  }
  for (let i = requests.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [requests[i], requests[j]] = [requests[j], requests[i]];
  }
  return requests;
}

/** Closed loop: `concurrency` clients, each sending its next request as soon as its last one is answered. */
async function drive({ url, requests, concurrency, tokenFor }) {
  const results = new Array(requests.length);
  let next = 0;
  const started = performance.now();
  const client = async () => {
    for (let i = next++; i < requests.length; i = next++) {
      const request = requests[i];
      const t0 = performance.now();
      const outcome = { repeated: request.repeated, startedAt: t0 };
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenFor(i)}` },
          body: JSON.stringify({ query: MUTATION, operationName: 'Ask', variables: { input: { agentId: request.agentId, text: request.text } } }),
          signal: AbortSignal.timeout(120_000),
        });
        const body = await response.json().catch(() => undefined);
        const payload = body?.data?.sendMessage;
        outcome.status = response.status;
        outcome.errors = (body?.errors ?? []).map((e) => e.extensions?.code ?? 'NO_CODE');
        outcome.messages = (body?.errors ?? []).map((e) => `${e.extensions?.code}: ${String(e.message).slice(0, 200)} at ${JSON.stringify(e.path ?? [])}`);
        // The reply arrived, even if resolving some of its citations (another subgraph) failed: counted, and listed.
        const onlyCitations = outcome.errors.length > 0 && (body?.errors ?? []).every((e) => e.path?.[1] === 'citations');
        if (response.ok && payload?.reply?.text && (outcome.errors.length === 0 || onlyCitations)) {
          outcome.ok = true;
          outcome.citationErrors = onlyCitations;
          outcome.degraded = payload.reply.degraded;
          outcome.provider = payload.reply.provider;
          outcome.call = callOf(payload.reply.text);
          outcome.citations = (payload.citations ?? []).filter(Boolean).length;
        }
      } catch (error) {
        outcome.errors = [error.name === 'TimeoutError' ? 'CLIENT_TIMEOUT' : `NETWORK:${error.cause?.code ?? error.name}`];
      }
      outcome.latency = performance.now() - t0;
      results[i] = outcome;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { results, seconds: (performance.now() - started) / 1000 };
}

const mean = (values) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN);

/**
 * Which replies needed no provider call of their own. Replies that name the
 * same provider call shared it: those whose request started before the
 * provider answered were in flight together (one of them made the call, the
 * rest joined it: single-flight); those that started after were served from
 * the reply cache.
 */
function classify(results, answeredAt) {
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
function readLogs(file, from = 0) {
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
async function scrape(graphqlUrl, names, labels = '') {
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
async function timings(stack) {
  const agent = await scrape(stack.subgraphUrls.agent, ['suoke_graphql_request_duration_seconds_sum', 'suoke_graphql_request_duration_seconds_count']);
  const gateway = await scrape(stack.gatewayUrl, ['suoke_subgraph_fetch_duration_seconds_sum', 'suoke_subgraph_fetch_duration_seconds_count'], 'subgraph="agent"');
  const cpu = Object.fromEntries(Object.entries(stack.processes).map(([name, child]) => [name, cpuSeconds(child.pid)]));
  return { agent, gateway, cpu };
}

/** Second model requests the agent sent by hedging (LLM_HEDGE_DELAY_MS), by outcome, from its /metrics. */
async function hedgeCounts(stack) {
  const counts = {};
  for (const outcome of ['won', 'lost', 'failed']) {
    counts[outcome] = (await scrape(stack.subgraphUrls.agent, ['suoke_agent_llm_hedges_total'], `outcome="${outcome}"`)).suoke_agent_llm_hedges_total;
  }
  return counts;
}

function timingDelta(before, after, messages) {
  const avg = (a, b, sum, count) => round(((b[sum] - a[sum]) / Math.max(1, b[count] - a[count])) * 1000, 0);
  const cpu = Object.fromEntries(Object.keys(after.cpu).map((name) => [name, round(((after.cpu[name] - before.cpu[name]) * 1000) / messages, 1)]));
  return {
    agentRequestAvgMs: avg(before.agent, after.agent, 'suoke_graphql_request_duration_seconds_sum', 'suoke_graphql_request_duration_seconds_count'),
    gatewayAgentFetchAvgMs: avg(before.gateway, after.gateway, 'suoke_subgraph_fetch_duration_seconds_sum', 'suoke_subgraph_fetch_duration_seconds_count'),
    cpuMsPerMessage: cpu,
  };
}

/** The agent's breaker series on its /metrics, if it exports them. */
async function breakerMetrics(agentGraphqlUrl) {
  try {
    const text = await (await fetch(agentGraphqlUrl.replace(/\/graphql$/, '/metrics'), { headers: metricsHeaders })).text();
    return text.split('\n').filter((l) => l.startsWith('suoke_circuit_breaker_'));
  } catch (error) {
    return [`unreadable: ${error.message}`];
  }
}

function summarise(results, seconds, fake, classes, logs) {
  const ok = results.filter((r) => r.ok);
  const latencies = ok.map((r) => r.latency);
  const errors = {};
  const errorMessages = [];
  for (const r of results) {
    if (r.ok && !r.citationErrors) continue;
    if (r.citationErrors) {
      errors.CITATIONS_UNRESOLVED = (errors.CITATIONS_UNRESOLVED ?? 0) + 1;
      if (errorMessages.length < 5) errorMessages.push(...r.messages);
      continue;
    }
    for (const code of r.errors?.length ? r.errors : [`HTTP_${r.status}`]) errors[code] = (errors[code] ?? 0) + 1;
    if (r.messages?.length && errorMessages.length < 5) errorMessages.push(...r.messages);
  }
  const fallbacks = ok.filter((r) => r.provider === 'OFFLINE').length;
  const degradedOther = ok.filter((r) => r.degraded && r.provider !== 'OFFLINE').length;
  const sortedLatencies = Float64Array.from(latencies).sort();
  return {
    requests: results.length,
    seconds: round(seconds, 1),
    throughput: round(results.length / seconds, 1),
    succeeded: ok.length,
    successRate: ok.length / results.length,
    // Replies with degraded: true: the offline responder stood in for the model (fallbacks), or the model answered
    // but the knowledge base could not be searched (no citations).
    fallbacks,
    degradedKnowledge: degradedOther,
    fullReplies: ok.length - fallbacks - degradedOther,
    errors,
    errorMessages,
    avgMs: round(mean(latencies), 0),
    p50Ms: round(percentile(sortedLatencies, 50), 0),
    p95Ms: round(percentile(sortedLatencies, 95), 0),
    p99Ms: round(percentile(sortedLatencies, 99), 0),
    maxMs: round(Math.max(...latencies), 0),
    avgRepeatedMs: round(mean(ok.filter((r) => r.repeated).map((r) => r.latency)), 0),
    avgUniqueMs: round(mean(ok.filter((r) => !r.repeated).map((r) => r.latency)), 0),
    avgCacheHitMs: round(mean(ok.filter((r) => r.kind === 'cache').map((r) => r.latency)), 0),
    avgModelMs: round(mean(ok.filter((r) => r.kind === 'model').map((r) => r.latency)), 0),
    citationsPerReply: round(mean(ok.map((r) => r.citations)), 2),
    cacheHits: classes.cacheHits,
    cacheHitRatio: classes.cacheHits / results.length,
    singleFlightJoined: classes.joined,
    withoutProviderCallRatio: (classes.cacheHits + classes.joined) / results.length,
    modelReplies: classes.modelReplies,
    provider: {
      calls: fake.calls,
      callsPerMessage: round(fake.calls / results.length, 2),
      succeeded: fake.succeeded,
      failed5xx: fake.statusFailures,
      resets: fake.resets,
      // Timed out by the agent, or (hedged) aborted because the other request of the attempt answered first.
      abandonedByAgent: fake.abandoned,
      // The body of a call that failed, received again: the agent retrying it.
      retries: fake.retries,
      maxInFlight: fake.maxInFlight,
      meanLatencyMs: round(fake.latencySumMs / Math.max(1, fake.succeeded), 0),
      promptTokens: fake.promptTokens,
      toolCallTurns: fake.toolCallTurns,
      toolRounds: fake.toolRounds,
    },
    // Per message of the run (cache hits included: they send nothing).
    tokensPerReply: round(fake.promptTokens / results.length, 0),
    toolRoundsPerReply: round(fake.toolRounds / results.length, 3),
    logs,
  };
}

/** A stack, started again (up to twice, after a pause) when it does not come up: a shared PostgreSQL may be out of connections for a while. */
async function startWithRetries(options) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startStack(options);
    } catch (error) {
      if (attempt >= 3) throw error;
      log(`${options.label}: the stack did not start (${error.message}); trying again in 15 s`);
      await new Promise((resolve) => setTimeout(resolve, 15_000));
    }
  }
}

/**
 * One measured run on a fresh provider, stack and reply cache (every run starts cold: empty cache, closed
 * breakers), after `warmup` unique messages.
 */
export async function measureRun({ data, tokens, provider, env = {}, label, seed, concurrency, count, warmup, nextUnique, redis, consent }) {
  const tokenFor = (i) => tokens[i % tokens.length];
  const fake = await startFakeLlm({ ...provider, seed });
  const prefix = `suoke:bench:agent:${process.pid}:${label}:`;
  const logFile = path.join(os.tmpdir(), `suoke-bench-agent-${process.pid}-${label}.log`);
  rmSync(logFile, { force: true });
  let stack;
  try {
    stack = await startWithRetries({
      data,
      label,
      env: { LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'bench-model', LLM_API_KEY: 'bench-key', REPLY_CACHE_PREFIX: prefix, LOG_FILE: logFile, ...env },
    });
  } catch (error) {
    await fake.close();
    throw error;
  }
  try {
    // Grants are stored in the user subgraph's tables: given once, by the first run, for every later run too.
    if (consent && !consent.done) await grantConsent(stack.gatewayUrl, consent);
    // JIT, pools and the gateway's query plan warm up on unique questions, which leave the pool's cache entries cold.
    await drive({ url: stack.gatewayUrl, requests: plan(warmup * 2, seededRandom(seed + 7), nextUnique).filter((q) => !q.repeated), concurrency, tokenFor });
    const before = { ...fake.stats };
    const logStart = existsSync(logFile) ? readFileSync(logFile).length : 0;
    const loadBefore = os.loadavg()[0];
    const timingsBefore = await timings(stack);
    const hedgesBefore = await hedgeCounts(stack);
    const { results, seconds } = await drive({ url: stack.gatewayUrl, requests: plan(count, seededRandom(seed + 100), nextUnique), concurrency, tokenFor });
    const where = timingDelta(timingsBefore, await timings(stack), count);
    const hedgesAfter = await hedgeCounts(stack);
    const hedges = Object.fromEntries(Object.entries(hedgesAfter).map(([outcome, n]) => [outcome, n - hedgesBefore[outcome]]));
    const delta = Object.fromEntries(Object.entries(fake.stats).map(([k, v]) => [k, k === 'maxInFlight' ? v : v - before[k]]));
    const breaker = await breakerMetrics(stack.subgraphUrls.agent);
    const logs = readLogs(logFile, logStart);
    const summary = {
      label,
      ...summarise(results, seconds, delta, classify(results, fake.answeredAt), logs),
      breakerMetrics: breaker,
      // Second requests sent by hedging during the measured run: won (its answer used), lost, failed.
      hedges,
      ...where,
      // The machine is shared: the 1-minute load average (2 cores) before and after the run.
      loadAverage: [round(loadBefore, 1), round(os.loadavg()[0], 1)],
    };
    log(
      `${label}: success ${round(summary.successRate * 100, 2)} % (${summary.fallbacks} fallbacks, ${summary.degradedKnowledge} without knowledge), ` +
        `avg ${summary.avgMs} ms, p95 ${summary.p95Ms} ms, cache hits ${round(summary.cacheHitRatio * 100, 1)} %, ` +
        `provider calls ${summary.provider.calls} (${summary.provider.callsPerMessage}/msg), tokens sent ${summary.tokensPerReply}/reply, tool rounds ${summary.toolRoundsPerReply}/reply, p99 ${summary.p99Ms} ms, hedges ${JSON.stringify(hedges)}, retries ${summary.provider.retries}, errors ${JSON.stringify(summary.errors)}, load ${summary.loadAverage.join('→')}`,
    );
    log(`${label} where the time goes: ${JSON.stringify(where)}`);
    log(`${label} logs: ${JSON.stringify(logs)}; errors: ${JSON.stringify(summary.errorMessages)}; breaker metrics: ${JSON.stringify(breaker)}`);
    return summary;
  } finally {
    await stack.stop();
    await fake.close();
    rmSync(logFile, { force: true });
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  }
}

const GRANT = `mutation Grant { grantAgentAccess(input: { scopes: [HEALTH_SUMMARY, HEALTH_PROFILE, REPORTS] }) { __typename } }`;

/**
 * Every `consent.share`-th… user (by token order) grants the agents access to all scopes, through the gateway as the
 * app would. On a build without consent (no `grantAgentAccess`), says so and goes on: the figures are then without it.
 */
async function grantConsent(url, consent) {
  consent.done = true;
  const every = Math.max(1, Math.round(1 / consent.share));
  const chosen = consent.tokens.filter((_, i) => i % every === 0);
  for (const token of chosen) {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: GRANT }) });
    const body = await response.json().catch(() => undefined);
    if (body?.errors?.length) {
      consent.granted = 0;
      consent.note = `not granted: ${body.errors[0].extensions?.code ?? 'error'} (${String(body.errors[0].message).slice(0, 120)})`;
      log(`consent: ${consent.note}`);
      return;
    }
    consent.granted += 1;
  }
  consent.note = `${consent.granted} of ${consent.tokens.length} users granted HEALTH_SUMMARY, HEALTH_PROFILE, REPORTS`;
  log(`consent: ${consent.note}`);
}

/**
 * The figures from before tools (results/agent.json as issue 4 left it), for the comparison; undefined when there are
 * none. A file recorded by this scenario since then carries them on as `previous`, so re-running does not turn the
 * last run into the baseline.
 */
function previousFigures() {
  const file = new URL('../results/agent.json', import.meta.url);
  if (!existsSync(file)) return undefined;
  try {
    const previous = JSON.parse(readFileSync(file, 'utf8'));
    if (previous.previous) return previous.previous;
    const production = previous.summaries?.production;
    const runs = previous.runs?.production ?? [];
    if (!production) return undefined;
    return {
      commit: previous.commit,
      date: String(previous.date ?? '').slice(0, 10),
      successRate: production.successRate,
      avgMs: production.avgMs,
      p99Ms: production.p99Ms ?? median(runs.map((r) => r.p99Ms)),
      tokensPerReply: production.tokensPerReply,
      toolRoundsPerReply: production.toolRoundsPerReply ?? 0,
    };
  } catch {
    return undefined;
  }
}

/**
 * The mean time of one reply from the fake provider as the agent asks it (sequential attempts, up to 3, full
 * jitter backoff of 250 ms × 2^(n−1) between them), by simulation: what a message that needs its own model call
 * waits at least. `hedged`: each attempt races two requests started together (LLM_HEDGE_DELAY_MS=0); it ends at
 * the first success, or fails when both have failed.
 */
function modelCallMeanMs(provider, { hedged = false } = {}, samples = 200_000) {
  const random = seededRandom(99);
  const sample = latencySampler(provider, random);
  /** One request: when it answers (ok) or fails. */
  const request = () => {
    const latency = sample();
    return random() >= provider.failureRate ? { ok: true, ms: latency } : { ok: false, ms: random() * latency };
  };
  let total = 0;
  for (let i = 0; i < samples; i += 1) {
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const requests = hedged ? [request(), request()] : [request()];
      const answers = requests.filter((r) => r.ok).map((r) => r.ms);
      if (answers.length > 0) {
        total += Math.min(...answers);
        break;
      }
      total += Math.max(...requests.map((r) => r.ms)) + (attempt < 3 ? random() * 250 * 2 ** (attempt - 1) : 0);
    }
  }
  return total / samples;
}

/**
 * The variants measured, interleaved run by run (issue 20: *hedged* gave way to *no-tools*; its figures stay in git):
 * - production: tools and personal context on (AGENT_MAX_TOOL_ROUNDS 3, AGENT_PROVIDER_PHI summary), half the users
 *   granted; the comparison the issue asks for is against the figures recorded before (results/agent.json);
 * - no-tools: the same stack, the model offered no tools and sent nothing personal, as before issue 20 (replies of
 *   granted users are still keyed per user).
 * Before issue 20:
 * - production: every default (rate limits on, the gateway's 256 connections and 10 s timeout per subgraph);
 *   the agent's knowledge searches run as a service caller, which no rate limit counts, and sendMessage's own
 *   limit is never reached (see `users`). (A former `tuned` variant, rate limits off and more gateway
 *   connections, is gone: both became the defaults' behaviour.)
 * - hedged (no longer run): production plus LLM_HEDGE_DELAY_MS=0, each model attempt racing two identical requests.
 */
export const VARIANTS = [
  { label: 'production', env: {} },
  { label: 'no-tools', env: { AGENT_MAX_TOOL_ROUNDS: '0', AGENT_PROVIDER_PHI: 'off' } },
];

export async function agent({ quick, command }) {
  const concurrency = quick ? 10 : 100;
  const count = quick ? 40 : 2000;
  const rounds = quick ? 1 : 3;
  const warmup = quick ? 10 : 100;
  // Users spread so that none comes near sendMessage's 20 per minute: about 4 messages each per run.
  const users = quick ? 50 : 500;
  const tools = { personalShare: 0.25, searchShare: 0.15, malformedShare: 0.02 };
  const provider = quick
    ? { meanMs: 200, sdMs: 60, distribution: 'lognormal', failureRate: 0.05, ...tools }
    : { meanMs: 3000, sdMs: 1000, distribution: 'lognormal', failureRate: 0.05, ...tools };
  // The smoke run checks both paths: with tools and without.
  const variants = VARIANTS;
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined;
  const data = await prepareData({ users });
  const tokens = await signTokens((await data.userIds()).slice(0, users + 2));
  const previous = previousFigures();
  const consent = { share: 0.5, tokens, done: false, granted: 0, note: 'not attempted' };
  let unique = 0;
  const nextUnique = () => unique++;
  const runs = Object.fromEntries(variants.map((v) => [v.label, []]));
  try {
    for (let r = 0; r < rounds; r += 1) {
      for (const variant of r % 2 === 0 ? variants : [...variants].reverse()) {
        runs[variant.label].push(
          await measureRun({ data, tokens, provider, env: variant.env, label: `${variant.label}-${r + 1}`, seed: 1000 + r, concurrency, count, warmup, nextUnique, redis, consent }),
        );
      }
    }
  } finally {
    redis?.disconnect();
    // The bench database is dropped even when PostgreSQL is briefly out of connections.
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        await data.drop();
        break;
      } catch (error) {
        log(`dropping the bench database failed (${error.message})${attempt < 3 ? '; trying again in 10 s' : ''}`);
        if (attempt < 3) await new Promise((resolve) => setTimeout(resolve, 10_000));
      }
    }
  }

  const summaries = Object.fromEntries(
    Object.entries(runs).map(([label, list]) => {
      const med = (pick) => median(list.map(pick));
      return [
        label,
        {
          successRate: med((x) => x.successRate),
          fullReplyRate: med((x) => x.fullReplies / x.requests),
          avgMs: med((x) => x.avgMs),
          p95Ms: med((x) => x.p95Ms),
          p99Ms: med((x) => x.p99Ms),
          tokensPerReply: med((x) => x.tokensPerReply),
          toolRoundsPerReply: med((x) => x.toolRoundsPerReply),
          cacheHitRatio: med((x) => x.cacheHitRatio),
          withoutProviderCallRatio: med((x) => x.withoutProviderCallRatio),
          providerCalls: med((x) => x.provider.calls),
          providerCallsPerMessage: med((x) => x.provider.calls / x.requests),
          hedgesSent: med((x) => x.hedges.won + x.hedges.lost + x.hedges.failed),
          hedgesWon: med((x) => x.hedges.won),
          retries: med((x) => x.provider.retries),
          fallbacks: med((x) => x.fallbacks),
          degradedKnowledge: med((x) => x.degradedKnowledge),
        },
      ];
    }),
  );
  const targets = { successRate: 0.999, avgMs: 1500 };
  const modelMs = modelCallMeanMs(provider);
  const hedgedModelMs = modelCallMeanMs(provider, { hedged: true });
  const pct = (v) => `${round(v * 100, 2)} %`;
  const row = (x) =>
    `| ${x.label} | ${pct(x.successRate)} | ${Object.entries(x.errors).map(([code, n]) => `${code} ${n}`).join(', ') || '—'} | ${x.fallbacks} | ${x.degradedKnowledge} | ${x.avgMs} | ${x.p50Ms} | ${x.p95Ms} | ${x.p99Ms} | ${x.avgRepeatedMs} / ${x.avgUniqueMs} | ${x.avgCacheHitMs} / ${x.avgModelMs} | ${pct(x.cacheHitRatio)} | ${x.singleFlightJoined} | ${x.provider.calls} (${x.provider.callsPerMessage}) | ${x.hedges.won + x.hedges.lost + x.hedges.failed ? `${x.hedges.won} / ${x.hedges.lost} / ${x.hedges.failed}` : '—'} | ${x.provider.retries} | ${x.provider.failed5xx} + ${x.provider.resets} | ${x.provider.meanLatencyMs} | ${x.agentRequestAvgMs} / ${x.gatewayAgentFetchAvgMs} | ${x.tokensPerReply} | ${x.toolRoundsPerReply} | ${x.throughput} | ${round(Object.values(x.cpuMsPerMessage).reduce((a, b) => a + b, 0), 1)} | ${x.loadAverage.join(' → ')} |`;
  const medians = Object.entries(summaries)
    .map(
      ([label, m]) =>
        [
          `- **${label}**: success **${pct(m.successRate)}** (target ≥ ${pct(targets.successRate)}; full replies ${pct(m.fullReplyRate)}),`,
          `  average **${m.avgMs} ms** (target ≤ ${targets.avgMs} ms), p95 **${m.p95Ms} ms**,`,
          `  cache hit ratio **${pct(m.cacheHitRatio)}** (${pct(m.withoutProviderCallRatio)} with single-flight),`,
          `  provider calls ${m.providerCalls} (**${round(m.providerCallsPerMessage, 2)} per message**${m.hedgesSent ? `, of which ${m.hedgesSent} hedges, ${m.hedgesWon} of them used` : ''}),`,
          `  retries ${m.retries}, fallbacks ${m.fallbacks}, replies without knowledge ${m.degradedKnowledge}.`,
        ].join('\n'),
    )
    .join('\n');
  const table = `
\`sendMessage\` through the gateway (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}, ${redis ? 'Redis' : 'no Redis'}), ${concurrency} concurrent users in a closed loop,
${count} messages per run, ${rounds} run(s) per variant interleaved, each on a fresh stack, after ${warmup} unique warm-up messages.
Provider: \`bench/fake-llm.mjs\`, ${provider.distribution} latency, mean ${provider.meanMs} ms, sd ${provider.sdMs} ms, ${provider.failureRate * 100} % of calls failing;
questions from a pool of ${POOL.length} (half) or unique (half), over ${tokens.length} users. Variants: ${variants.map((v) => v.label).join(', ')}.

| run | success | errors | fallbacks | no knowledge | avg ms | p50 ms | p95 ms | p99 ms | avg ms repeated / unique | avg ms cache hit / model | cache hits | joined | provider calls (per msg) | hedges won / lost / failed | retries | failures 5xx + resets | provider mean ms | avg ms in agent / gateway→agent | tokens sent / reply | tool rounds / reply | msg/s | CPU-ms per msg (stack) | load avg (2 cores) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${Object.values(runs).flat().map(row).join('\n')}

Medians:
${medians}

Next to the figures before tools (issue 20's comparison; medians; estimated tokens per message, cache hits included):

| | success | avg ms | p99 ms | tokens sent to the provider / reply | tool rounds / reply |
|---|---|---|---|---|---|
${previous ? `| before tools (results/agent.json, commit ${previous.commit}, ${previous.date}) | ${pct(previous.successRate)} | ${previous.avgMs} | ${previous.p99Ms} | ${previous.tokensPerReply ?? 'not measured'} | ${previous.toolRoundsPerReply} |\n` : ''}${Object.entries(summaries)
    .map(([label, m]) => `| ${label} | ${pct(m.successRate)} | ${m.avgMs} | ${m.p99Ms} | ${m.tokensPerReply} | ${m.toolRoundsPerReply} |`)
    .join('\n')}

Consent: ${consent.note}.

Floor of the average (half the messages wait for a model call of their own): 0.5 × ${round(modelMs, 0)} ms ≈ **${round(modelMs / 2, 0)} ms**;
hedged, 0.5 × ${round(hedgedModelMs, 0)} ms ≈ **${round(hedgedModelMs / 2, 0)} ms**. Served without a model call of their own:
${Object.entries(summaries).map(([label, m]) => `${pct(m.withoutProviderCallRatio)} in ${label}`).join(', ')}.
`;
  record('agent', command, { previous, consent: consent.note, provider, modelCallMeanMs: round(modelMs, 0), averageFloorMs: round(modelMs / 2, 0), hedgedModelCallMeanMs: round(hedgedModelMs, 0), hedgedAverageFloorMs: round(hedgedModelMs / 2, 0), concurrency, count, rounds, users: tokens.length, redis: Boolean(redis), variants, summaries, targets, runs, quick }, quick ? `(quick smoke run — not figures)\n${table}` : table);
  if (Object.values(runs).flat().some((x) => x.succeeded === 0)) throw new Error('no message was answered: the harness or the stack is broken');
}
