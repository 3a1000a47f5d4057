// Issue 4's closing figures, re-run for issue 20: 100 concurrent signed-in users
// chatting with the agents through the gateway while the model provider is slow
// (mean 3000 ms) and fails 5 % of its calls; half of the questions are repeated
// from a small pool, half are unique. Half of the users granted the agents
// access to their data; the fake model calls tools (the user's health summary,
// the knowledge base) for a share of questions. Success rate, latency, cache
// hits, provider calls, tokens sent to the provider and tool rounds per reply,
// next to the figures recorded before tools (results/agent.json as it was).
import { Redis } from 'ioredis';
import { log, median, prepareData, record, round, signTokens } from '../lib.mjs';
import { modelCallMeanMs, POOL, previousFigures } from './agent/inputs.mjs';
import { measureRun } from './agent/run.mjs';

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
