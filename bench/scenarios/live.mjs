// Issue 19's "Measure": the live supergraph (subscriptions, streamed replies, @defer).
// Everything runs as separate processes in production mode: the five subgraphs (plus a
// second user-subgraph replica with Redis), our gateway, Hive Gateway, and the
// subscribers, which live in a process of their own (live-client.mjs, one WebSocket per
// subscriber) so that their CPU never counts as a gateway's.
//
// Parts:
//   idle        5,000 notificationAdded subscriptions open over WebSocket on our gateway:
//               gateway RSS and heap per subscription (after − before) / count, and its CPU
//               at idle over 30 s, with the heartbeats running (WebSocket pings every
//               GATEWAY_WS_KEEPALIVE_MS, 12 s; the subgraphs' SSE heartbeats every 10 s).
//   fan-out     (Redis) 1,000 subscribers over two user-subgraph replicas (the gateway is
//               given both; its balancer spreads the upstream streams), an event per
//               subscriber per second for 60 s: publish → client latency, events lost.
//   side by side  Hive Gateway against the same subgraphs and supergraph, its subgraph
//               subscriptions over graphql-sse at POST /graphql/stream (bench/peers/
//               hive-gateway.config.mjs): memory per subscription as in idle, and (Redis)
//               gateway CPU per event delivered, 500 subscribers × 1 event/s for 20 s. Our
//               gateway is given the one user replica Hive is given.
//   first token time to the first token vs the full reply, sendMessage(stream: true) then
//               messageStream, the model a fake that streams (mean 3 s); skipped while the
//               schema has no messageStream.
//   defer       time to the initial payload vs the whole result of a query with @defer, the
//               diagnosis subgraph slowed by 500 ms (a delaying proxy); skipped while the
//               gateway does not answer multipart for @defer.
// How events are produced: published on the live event bus itself (Redis PUBLISH on the
// user subgraph's topic for that user, the payload a notification as postNotification
// publishes it after its commit), by this process, with the publish time in the title. So
// the latency is the live path alone (bus → user subgraph → graphql-sse → gateway → its
// plan → WebSocket → client), not a database write; and one subscriber's events reach
// whichever replica holds its stream. Without REDIS_URL the bus is in-process and the
// event parts are skipped (said so in the output).
//
// Rate limits are off on our gateway (thousands of subscriptions from one client address);
// our gateway's per-process cap is raised to 20,000 and each subscriber is its own user; the
// per-address connection cap (HTTP_MAX_CONNECTIONS_PER_ADDRESS, default 1,024) is raised to
// 20,000 on our gateway (every subscriber connects from one address) and on the subgraphs
// (Hive opens every upstream subscription as an HTTP connection of its own; ours multiplexes
// them on one event stream per subgraph instance, graphql-sse single connection mode).
// LIVE_RUNS, LIVE_IDLE_SUBS, LIVE_IDLE_SECONDS, LIVE_FANOUT_SUBS, LIVE_FANOUT_SECONDS
// override the sizes, LIVE_DEBUG_LOG=<file> writes our gateway's log there and the subgraphs' to <file>.subgraphs
// (a run with any LIVE_ variable set records nothing).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, log, median, prepareData, record, rotated, round, signTokens, spawnService, startSubgraphs, stopChild, waitReady } from '../lib.mjs';
import { sizes, startClientProcess, startGateway } from './live/processes.mjs';
import { deferOnce, delayingProxy, firstTokenRun, hasMessageStream, startStreamingLlm } from './live/stream.mjs';
import { fanoutRun, gatewayRun } from './live/runs.mjs';

export async function live({ quick, command }) {
  const s = sizes(quick);
  const redisUrl = process.env.REDIS_URL;
  const custom = Object.keys(process.env).some((k) => k.startsWith('LIVE_'));
  const data = await prepareData({ users: 3 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'suoke-live-'));
  // The second user replica shares the first's database: PostgreSQL, or with PGlite a copy of its folder made
  // before either starts (these parts never read it: events come from the bus).
  if (redisUrl && data.pgliteDir) cpSync(path.join(data.pgliteDir, 'user'), path.join(data.pgliteDir, 'user-2'), { recursive: true });
  const llm = await startStreamingLlm();
  const gatewayPort = await freePort();
  const subgraphs = await startSubgraphs({
    data,
    label: 'live',
    gatewayPort,
    env: {
      SUBSCRIPTIONS_MAX_PER_PROCESS: '20000',
      // Hive opens every upstream subscription as an HTTP connection of its own from its one address (graphql-sse,
      // distinct connections): the default cap of 1,024 connections per address would refuse the rest. (Ours needs
      // a handful: single connection mode.)
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20000',
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'bench-model',
      LLM_API_KEY: 'bench-key',
      ...(process.env.LIVE_DEBUG_LOG ? { LOG_FILE: `${process.env.LIVE_DEBUG_LOG}.subgraphs` } : {}),
    },
  });
  const client = startClientProcess();
  let replica;
  let redis;
  const skipped = [];
  try {
    const userUrls = [subgraphs.urls.user];
    if (redisUrl) {
      const port = await freePort();
      const env = { ...subgraphs.envs.user, PORT: String(port) };
      if (data.pgliteDir) env.PGLITE_DATA_DIR = path.join(data.pgliteDir, 'user-2');
      replica = spawnService('live/user-2', 'subgraphs/user/dist/index.js', env);
      await waitReady(`http://127.0.0.1:${port}`);
      userUrls.push(`http://127.0.0.1:${port}`);
      redis = new Redis(redisUrl);
    } else {
      skipped.push('fan-out and CPU per event: REDIS_URL is not set (events are published on the Redis bus; two replicas need it)');
    }
    const userPorts = userUrls.map((u) => Number(new URL(u).port));
    const singlePorts = userPorts.slice(0, 1);

    // Side by side (and idle): rounds of ours then Hive, the order rotated each round, a fresh gateway each time.
    const runs = { ours: [], hive: [] };
    for (let round_ = 0; round_ < s.runs; round_ += 1) {
      for (const kind of rotated(['ours', 'hive'], round_)) {
        runs[kind].push(await gatewayRun({ kind, subgraphs, userUrls: userUrls.slice(0, 1), userPorts: singlePorts, client, redis, dir, s, label: `round ${round_ + 1}` }));
      }
    }
    const fanout = [];
    if (redis) for (let r = 0; r < s.runs; r += 1) fanout.push(await fanoutRun({ subgraphs, userUrls, userPorts, client, redis, dir, s, label: `run ${r + 1}` }));

    // First token and @defer, on one more gateway of ours (diagnosis behind the delaying proxy).
    let firstToken;
    let deferred;
    const proxy = await delayingProxy(subgraphs.urls.diagnosis, 500);
    const gateway = await startGateway('ours', { subgraphs: { ...subgraphs, urls: { ...subgraphs.urls, diagnosis: proxy.url } }, userUrls: userUrls.slice(0, 1), dir });
    try {
      const seeded = await data.userIds();
      const [token] = await signTokens([seeded.at(-1)]);
      if (hasMessageStream()) firstToken = await firstTokenRun({ gateway, token, n: s.messages });
      else skipped.push('first token vs full reply: the supergraph has no Subscription.messageStream yet');
      const first = await deferOnce(gateway.url, token);
      if (!first) skipped.push('@defer: the gateway does not answer multipart/mixed for @defer yet');
      else {
        const samples = [first];
        for (let i = 1; i < s.deferRuns; i += 1) samples.push(await deferOnce(gateway.url, token));
        deferred = {
          initialP50: round(median(samples.map((x) => x.initial)), 1),
          wholeP50: round(median(samples.map((x) => x.whole)), 1),
          ratio: round(median(samples.map((x) => x.initial)) / median(samples.map((x) => x.whole)), 3),
          complete: samples.every((x) => x.complete),
          runs: samples.length,
        };
      }
    } finally {
      await stopChild(gateway.child);
      await proxy.close();
    }
    for (const reason of skipped) log(`live: skipped ${reason}`);

    const pick = (list, f) => round(median(list.map(f).filter(Number.isFinite)), 2);
    const side = Object.fromEntries(
      Object.entries(runs).map(([kind, list]) => [
        kind,
        {
          rssKiBPerSub: pick(list, (r) => r.idle.rssKiBPerSub),
          heapKiBPerSub: pick(list, (r) => r.idle.heapKiBPerSub),
          idleCpuPercent: pick(list, (r) => r.idle.idleCpuPercent),
          openSeconds: pick(list, (r) => r.idle.openSeconds),
          cpuMsPerEvent: redis ? pick(list, (r) => r.events.cpuMsPerEvent) : undefined,
          eventP50: redis ? pick(list, (r) => r.events.p50) : undefined,
          eventP99: redis ? pick(list, (r) => r.events.p99) : undefined,
          eventsLost: redis ? list.reduce((n, r) => n + r.events.lost, 0) : undefined,
        },
      ]),
    );
    const fan = fanout.length
      ? { p50: pick(fanout, (r) => r.p50), p99: pick(fanout, (r) => r.p99), lost: fanout.reduce((n, r) => n + r.lost, 0), published: fanout.reduce((n, r) => n + r.published, 0), cpuMsPerEvent: pick(fanout, (r) => r.cpuMsPerEvent), spread: fanout.map((r) => r.upstreamByReplica) }
      : undefined;
    const ratios = {
      rssPerSub: round(side.ours.rssKiBPerSub / side.hive.rssKiBPerSub, 3),
      cpuPerEvent: redis ? round(side.ours.cpuMsPerEvent / side.hive.cpuMsPerEvent, 3) : undefined,
    };
    const summary = { quick, sizes: s, side, ratios, fanout: fan, firstToken, deferred, skipped, runs, fanoutRuns: fanout };
    console.log(JSON.stringify({ side, ratios, fanout: fan, firstToken, deferred, skipped }, null, 2));

    // The harness works (a quick run checks this, never the targets): every subscription held, every event counted.
    for (const list of Object.values(runs)) for (const r of list) if (r.idle.stillOpen !== s.idleSubs) throw new Error(`${r.idle.stillOpen} of ${s.idleSubs} idle subscriptions still open at the end`);
    if (redis) for (const list of Object.values(runs)) for (const r of list) if (r.events.received === 0) throw new Error('no event reached any subscriber');

    if (quick || custom) {
      log(`live: ${quick ? 'quick' : 'resized (LIVE_*)'} run, nothing recorded`);
      return;
    }
    const yes = (ok) => (ok ? 'met' : '**not met**');
    const lines = [
      `Subscribers in a separate process (graphql-ws), each its own user; events published on the live bus (Redis); ${s.runs} rounds, medians.`,
      '',
      '### Idle subscriptions and side by side with Hive Gateway',
      '',
      `${s.idleSubs} notificationAdded subscriptions held ${s.idleSeconds} s (heartbeats running);`,
      `then ${s.eventSubs} of them get an event per second for ${s.eventSeconds} s. Same subgraphs, one user replica for both gateways.`,
      '',
      '| gateway | RSS KiB / subscription | heap KiB / subscription | idle CPU % | gateway CPU ms / event | event p50 ms | event p99 ms | lost | open time s |',
      '|---|---|---|---|---|---|---|---|---|',
      ...Object.entries(side).map(([kind, x]) => `| ${kind} | ${x.rssKiBPerSub} | ${Number.isFinite(x.heapKiBPerSub) ? x.heapKiBPerSub : 'n/a'} | ${x.idleCpuPercent} | ${x.cpuMsPerEvent ?? 'n/a'} | ${x.eventP50 ?? 'n/a'} | ${x.eventP99 ?? 'n/a'} | ${x.eventsLost ?? 'n/a'} | ${x.openSeconds} |`),
      '',
      `By round, RSS KiB per subscription: ours ${runs.ours.map((r) => r.idle.rssKiBPerSub).join(', ')}; hive ${runs.hive.map((r) => r.idle.rssKiBPerSub).join(', ')}.`,
      `Gateway CPU ms per event: ours ${runs.ours.map((r) => r.events?.cpuMsPerEvent ?? 'n/a').join(', ')}; hive ${runs.hive.map((r) => r.events?.cpuMsPerEvent ?? 'n/a').join(', ')}.`,
      '',
      `Ours / Hive: memory (RSS) per subscription **${ratios.rssPerSub}**, gateway CPU per event **${ratios.cpuPerEvent ?? 'n/a'}**.`,
      `Target ≤ 20 KiB per subscription (ours, RSS): ${yes(side.ours.rssKiBPerSub <= 20)}.`,
      '',
      '### Fan-out',
      '',
      fan
        ? [
            `${s.fanoutSubs} subscribers to notificationAdded over two user-subgraph replicas`,
            `(upstream streams per replica by run: ${fan.spread.map((x) => x.join('/')).join(', ')}), an event per subscriber per second for ${s.fanoutSeconds} s:`,
            `publish → client p50 **${fan.p50} ms**, p99 **${fan.p99} ms** (by run: ${fanout.map((r) => round(r.p99, 1)).join(', ')}), lost **${fan.lost}** of ${fan.published};`,
            `gateway CPU ${fan.cpuMsPerEvent} ms per event. Targets 0 lost (${yes(fan.lost === 0)}), p99 ≤ 100 ms (${yes(fan.p99 <= 100)}).`,
          ].join('\n')
        : `Not measured: ${skipped.find((x) => x.startsWith('fan-out'))}.`,
      '',
      '### First token vs full reply',
      '',
      firstToken
        ? `${firstToken.messages} streamed replies (fake model: 30 chunks over a lognormal mean 3 s), timed from sendMessage(stream: true):\n` +
          `first token p50 **${firstToken.firstTokenP50} ms**, full reply p50 **${firstToken.fullReplyP50} ms**, ratio **${firstToken.ratio}**. Target ≤ 0.2: ${yes(firstToken.ratio <= 0.2)}.`
        : `Not measured: ${skipped.find((x) => x.startsWith('first token'))}.`,
      '',
      '### @defer',
      '',
      deferred
        ? `\`me { displayName ... @defer { latestReport { … } } }\`, the diagnosis subgraph's answers held 500 ms by a proxy, ${deferred.runs} requests:\n` +
          `initial payload p50 **${deferred.initialP50} ms**, whole result p50 **${deferred.wholeP50} ms** (ratio ${deferred.ratio}).`
        : `Not measured: ${skipped.find((x) => x.startsWith('@defer'))}.`,
    ];
    record('live', command, summary, lines.join('\n'));
  } finally {
    await client.rpc('close').catch(() => {});
    await client.stop();
    redis?.disconnect();
    if (replica) await stopChild(replica);
    await subgraphs.stop();
    await llm.close();
    await data.drop();
    rmSync(dir, { recursive: true, force: true });
    if (data.pgliteDir) rmSync(data.pgliteDir, { recursive: true, force: true });
  }
}
