// The gateways scenario's four gateways: the home query, the supergraph they share, their launch descriptions,
// starting them, and the check that all of them answer alike.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GATEWAY_SECRET_HEADER } from '@suoke/platform';
import { freePort, spawnService, stopChild } from '../../lib.mjs';
import { repoRoot } from '../../../scripts/supergraph-config.mjs';

/** The app's home screen over four subgraphs: what the gateways scenarios (and usage) load. */
export const HOME = `query Home {
  me {
    id
    displayName
    healthSummary(days: 7) { type count average latest }
    consultations(first: 3) { edges { node { id status startedAt } } }
    latestReport { id confidence primaryConstitution { code name summary } }
    conversations(first: 3) { edges { node { id agent { id name } updatedAt } } }
  }
}`;
export const OTEL_INHERITED = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_TRACES_EXPORTER', 'OTEL_SDK_DISABLED', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'];
export const HIVE_BIN = 'node_modules/@graphql-hive/gateway/dist/bin.js';

/** The supergraph with each join__graph URL pointing at the bench's subgraph. */
export function rewriteSupergraph(urls, dir) {
  const source = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
  const seen = new Set();
  const rewritten = source.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (_, name) => {
    if (!urls[name]) throw new Error(`supergraph names subgraph ${name}, which the bench did not start`);
    seen.add(name);
    return `@join__graph(name: "${name}", url: "${urls[name]}/graphql")`;
  });
  const missing = Object.keys(urls).filter((name) => !seen.has(name));
  if (missing.length) throw new Error(`supergraph has no join__graph for ${missing.join(', ')}`);
  const file = path.join(dir, 'supergraph.graphql');
  writeFileSync(file, rewritten);
  return file;
}

/** POSTs `{ __typename }` until the gateway answers it. */
export async function waitGraphQL(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: gateway exited with ${child.exitCode} before answering`);
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      if (response.ok && (await response.json()).data?.__typename) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer { __typename } within ${timeoutMs / 1000} s`);
}

/**
 * BENCH_BASELINE=<checkout>: also load that checkout's built gateway (base-on, base-off, same settings as
 * ours-on and ours-off) in the same rotated rounds, for a before/after comparison of a change.
 */
function baselineKinds(common, sink, identical) {
  const dir = process.env.BENCH_BASELINE;
  if (!dir) return [];
  const script = path.resolve(dir, 'gateway/dist/index.js');
  const [on, off] = gatewayKinds({ base: {}, supergraph: common.SUPERGRAPH_PATH, sink, identical, baseline: false }).map((k) => k.env);
  return [
    { label: 'base-on', script, env: { ...common, ...on }, portVar: 'GATEWAY_PORT' },
    { label: 'base-off', script, env: { ...common, ...off }, portVar: 'GATEWAY_PORT' },
  ];
}

/** The four gateways' launch descriptions (six with BENCH_BASELINE). */
export function gatewayKinds({ base, supergraph, sink, identical, baseline = true }) {
  const common = { ...base, SUPERGRAPH_PATH: supergraph, GATEWAY_SECRET_HEADER };
  for (const name of OTEL_INHERITED) delete common[name];
  return [
    {
      label: 'ours-on',
      script: 'gateway/dist/index.js',
      // One user at thousands of requests per second is over any per-user limit (300/min on `me`):
      // in the identical variant ours runs with everything on but rate limits, else it would answer 429s.
      env: {
        ...common,
        RATE_LIMITS: identical ? 'off' : 'on',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      portVar: 'GATEWAY_PORT',
    },
    { label: 'ours-off', script: 'gateway/dist/index.js', env: { ...common, RATE_LIMITS: 'off', OTEL_SDK_DISABLED: 'true' }, portVar: 'GATEWAY_PORT' },
    ...(baseline ? baselineKinds(common, sink, identical) : []),
    { label: 'apollo', script: 'bench/peers/apollo-stock.mjs', env: common, portVar: 'PORT', nodeOptions: [] },
    {
      label: 'hive',
      script: HIVE_BIN,
      env: common,
      nodeOptions: [],
      args: (port) => ['supergraph', supergraph, '--config-path', path.join(repoRoot, 'bench/peers/hive-gateway.config.mjs'), '--fork', '1', '--host', '127.0.0.1', '--port', String(port)],
    },
  ];
}

export async function startGateways(kinds) {
  const started = [];
  try {
    for (const kind of kinds) {
      const port = await freePort();
      const env = { ...kind.env, ...(kind.portVar ? { [kind.portVar]: String(port) } : {}) };
      const child = spawnService(`gateways/${kind.label}`, kind.script, env, kind.args ? kind.args(port) : [], kind.nodeOptions);
      const url = `http://127.0.0.1:${port}/graphql`;
      started.push({ label: kind.label, url, child });
      await waitGraphQL(url, child);
    }
  } catch (error) {
    await Promise.all(started.map((g) => stopChild(g.child)));
    throw error;
  }
  return started;
}

/** Every gateway returns the same JSON for `token`, touching all five subgraphs; throws otherwise. */
export async function verifySameData(gateways, body, token) {
  const answers = [];
  for (const gateway of gateways) {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${gateway.label}: home query answered ${response.status} with non-JSON: ${text.slice(0, 300)}`);
    }
    if (!response.ok || json.errors || !json.data?.me) throw new Error(`${gateway.label}: home query failed (${response.status}): ${text.slice(0, 500)}`);
    const me = json.data.me;
    const touched = {
      user: Boolean(me.displayName),
      health: Array.isArray(me.healthSummary) && me.healthSummary.length > 0,
      diagnosis: (me.consultations?.edges.length ?? 0) > 0 && Boolean(me.latestReport),
      knowledge: Boolean(me.latestReport?.primaryConstitution?.name),
      agent: (me.conversations?.edges.length ?? 0) > 0 && Boolean(me.conversations.edges[0].node.agent?.name),
    };
    const untouched = Object.entries(touched).filter(([, ok]) => !ok).map(([name]) => name);
    if (untouched.length) throw new Error(`${gateway.label}: home query left ${untouched.join(', ')} empty: ${text.slice(0, 500)}`);
    answers.push({ label: gateway.label, text: JSON.stringify(json.data) });
  }
  const reference = answers[0];
  for (const answer of answers.slice(1)) {
    if (answer.text !== reference.text) {
      let at = 0;
      while (at < reference.text.length && reference.text[at] === answer.text[at]) at += 1;
      throw new Error(
        `${answer.label} and ${reference.label} return different data for the same user, from character ${at}:\n  ${reference.label}: …${reference.text.slice(Math.max(0, at - 80), at + 160)}\n  ${answer.label}: …${answer.text.slice(Math.max(0, at - 80), at + 160)}`,
      );
    }
  }
  return reference.text;
}


export function hiveVersion() {
  try {
    return JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/@graphql-hive/gateway/package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}
