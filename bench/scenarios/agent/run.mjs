// One measured run of the agent scenario: a fresh stack, a closed loop of users, and its summary.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { callOf, seededRandom, startFakeLlm } from '../../fake-llm.mjs';
import { log, percentile, round, startStack } from '../../lib.mjs';
import { grantConsent, MUTATION, plan } from './inputs.mjs';
import { breakerMetrics, classify, hedgeCounts, mean, readLogs, timingDelta, timings } from './metrics.mjs';

/** Closed loop: `concurrency` clients, each sending its next request as soon as its last one is answered. */
export async function drive({ url, requests, concurrency, tokenFor }) {
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

export function summarise(results, seconds, fake, classes, logs) {
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
export async function startWithRetries(options) {
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
