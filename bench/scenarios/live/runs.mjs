// The live scenario's subscription runs: open subscriptions, publish events on the bus, idle and fan-out figures.
import { randomUUID } from 'node:crypto';
import { cpuSeconds, establishedOn, latencyStats, log, metricsHeaders, round, rssMiB, signTokens, stopChild } from '../../lib.mjs';
import { ADDED, CHANNEL_PREFIX, heapMiB, now, sleep, startGateway, topicOf, waitFor } from './processes.mjs';

/** Upstream streams the user subgraph instances have accepted (their ESTABLISHED connections). */
export const upstreamConnections = (userPorts) => userPorts.reduce((sum, port) => sum + establishedOn(port), 0);

/**
 * Subscriptions the user subgraph instances hold now (their suoke_subgraph_subscriptions_open): our gateway
 * multiplexes them on one connection per instance (graphql-sse single connection mode), Hive opens one each.
 */
export async function upstreamSubscriptions(userPorts) {
  let sum = 0;
  for (const port of userPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: metricsHeaders })).text();
    sum += Number(/^suoke_subgraph_subscriptions_open(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
  }
  return sum;
}

/**
 * Opens `tokens.length` subscriptions on `gateway` from the client process and waits until the user subgraph has
 * accepted a stream for each (counted on its port).
 */
export async function openSubscriptions(client, gateway, tokens, userPorts, quick) {
  const before = await upstreamSubscriptions(userPorts);
  const started = Date.now();
  const opened = await client.rpc('open', { url: gateway.ws, tokens, query: ADDED, concurrency: 100 });
  if (opened.failures > 0) throw new Error(`${gateway.kind}: ${opened.failures} of ${tokens.length} subscribers could not connect: ${opened.firstFailures.join('; ')}`);
  try {
    await waitFor(async () => (await upstreamSubscriptions(userPorts)) >= before + tokens.length, `${tokens.length} upstream subscriptions on the user subgraph (${gateway.kind})`, quick ? 30_000 : 120_000);
  } catch (error) {
    const stats = await client.rpc('stats');
    throw new Error(`${error.message}: ${await upstreamSubscriptions(userPorts)} subscriptions (${before} before) and ${upstreamConnections(userPorts)} connections on the user subgraph; subscriptions ended ${stats.ended}, by ${JSON.stringify(stats.endings)} ${JSON.stringify(stats.messages)}`);
  }
  return { openSeconds: (Date.now() - started) / 1000 };
}

/** A notification as postNotification publishes it on the bus (subgraphs/user NotificationEvent), stamped. */
export function notificationEvent(userId, seq) {
  return JSON.stringify({ id: randomUUID(), key: `bench-${seq}`, userId, kind: 'REPORT_READY', title: String(now()), body: String(seq), reportId: null, createdAt: new Date().toISOString(), readAt: null });
}

/**
 * Until every subscriber in `userIds` (the first of the client's subscribers, same order) has received one event:
 * a subgraph answers the stream before its bus subscription is live, so the first events are probes.
 */
export async function probe(client, redis, userIds) {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const { perSubscriber } = await client.rpc('stats', { perSubscriber: true });
    const missing = userIds.filter((_, i) => !(perSubscriber[i] > 0));
    if (missing.length === 0) return;
    const pipeline = redis.pipeline();
    for (const id of missing) pipeline.publish(CHANNEL_PREFIX + topicOf(id), notificationEvent(id, -1));
    await pipeline.exec();
    await sleep(300);
  }
  throw new Error(`probe events did not reach every subscriber within 12 s (topic or channel renamed?)`);
}

/**
 * An event per subscriber per second for `seconds`, spread evenly (a batch every 10 ms), then up to 5 s for the last
 * ones: latency publish → client, events lost, gateway CPU per event delivered.
 */
export async function publishLoad({ client, redis, gateway, userIds, seconds }) {
  await client.rpc('reset');
  const cpuBefore = cpuSeconds(gateway.child.pid);
  const total = userIds.length * seconds;
  const perMs = userIds.length / 1000;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) * perMs) + 1);
    if (due > sent) {
      const pipeline = redis.pipeline();
      for (; sent < due; sent += 1) {
        const id = userIds[sent % userIds.length];
        pipeline.publish(CHANNEL_PREFIX + topicOf(id), notificationEvent(id, sent));
      }
      await pipeline.exec();
    }
    await sleep(10);
  }
  const publishSeconds = (performance.now() - started) / 1000;
  const drainDeadline = Date.now() + 5_000;
  let stats = await client.rpc('stats');
  while (stats.received < total && Date.now() < drainDeadline) {
    await sleep(100);
    stats = await client.rpc('stats');
  }
  const cpu = cpuSeconds(gateway.child.pid) - cpuBefore;
  const latency = latencyStats(stats.latencies);
  return {
    published: total,
    received: stats.received,
    lost: total - stats.received,
    publishSeconds: round(publishSeconds, 1),
    p50: latency.p50,
    p99: latency.p99,
    max: latency.max,
    gatewayCpuSeconds: round(cpu, 2),
    cpuMsPerEvent: round((cpu * 1000) / Math.max(1, stats.received), 4),
    endings: stats.endings,
  };
}

/** Idle subscriptions on a fresh gateway: memory per subscription and idle CPU; then events (Redis) on some of them. */
export async function gatewayRun({ kind, subgraphs, userUrls, userPorts, client, redis, dir, s, label }) {
  const gateway = await startGateway(kind, { subgraphs, userUrls, dir });
  try {
    await sleep(s.settleMs);
    const before = { rss: rssMiB(gateway.child.pid), heap: await heapMiB(gateway.base) };
    const userIds = Array.from({ length: s.idleSubs }, () => randomUUID());
    const tokens = await signTokens(userIds);
    const { openSeconds } = await openSubscriptions(client, gateway, tokens, userPorts, s.quick);
    await sleep(s.settleMs);
    const after = { rss: rssMiB(gateway.child.pid), heap: await heapMiB(gateway.base) };
    const cpuBefore = cpuSeconds(gateway.child.pid);
    await sleep(s.idleSeconds * 1_000);
    const idleCpu = cpuSeconds(gateway.child.pid) - cpuBefore;
    const idle = {
      subscriptions: s.idleSubs,
      openSeconds: round(openSeconds, 1),
      rssBeforeMiB: round(before.rss, 1),
      rssAfterMiB: round(after.rss, 1),
      rssKiBPerSub: round(((after.rss - before.rss) * 1024) / s.idleSubs, 2),
      heapKiBPerSub: round(((after.heap - before.heap) * 1024) / s.idleSubs, 2),
      idleCpuPercent: round((idleCpu / s.idleSeconds) * 100, 2),
      stillOpen: s.idleSubs - (await client.rpc('stats')).ended,
      endings: (await client.rpc('stats')).endings,
    };
    log(`live ${label} ${kind} idle: ${JSON.stringify(idle)}`);
    let events;
    if (redis) {
      const eventIds = userIds.slice(0, s.eventSubs);
      await probe(client, redis, eventIds);
      events = await publishLoad({ client, redis, gateway, userIds: eventIds, seconds: s.eventSeconds });
      log(`live ${label} ${kind} events: ${JSON.stringify({ ...events, endings: undefined })}`);
    }
    return { idle, events };
  } finally {
    await client.rpc('close');
    await stopChild(gateway.child);
  }
}

/** The fan-out: our gateway over both user replicas. */
export async function fanoutRun({ subgraphs, userUrls, userPorts, client, redis, dir, s, label }) {
  const gateway = await startGateway('ours', { subgraphs, userUrls, dir });
  try {
    const userIds = Array.from({ length: s.fanoutSubs }, () => randomUUID());
    await openSubscriptions(client, gateway, await signTokens(userIds), userPorts, s.quick);
    const spread = userPorts.map((port) => establishedOn(port));
    await probe(client, redis, userIds);
    const result = await publishLoad({ client, redis, gateway, userIds, seconds: s.fanoutSeconds });
    log(`live ${label} fan-out: ${JSON.stringify({ ...result, spread })}`);
    return { ...result, upstreamByReplica: spread };
  } finally {
    await client.rpc('close');
    await stopChild(gateway.child);
  }
}
