#!/usr/bin/env node
// node bench/tools/profile-summary.mjs <file.cpuprofile> [cpu-ms per request] [top] [layer]
// Reads a V8 CPU profile (bench/tools/cpu-profile.cjs) and prints, as shares of the process's busy time
// (samples outside (idle) and (program)): each layer's time, every sample charged to the innermost frame of a
// known layer on its stack (so jose under platform's verifier is token verification, a socket write under undici
// is the subgraph fetch, and Apollo's executor running inside OpenTelemetry's `startActiveSpan` wrapper is Apollo's,
// not tracing's), and the top frames by self time. Given the process's CPU-ms
// per request (from `npm run bench -- ab`), each share is also shown as CPU µs per request. Given a layer's name
// (or a part of it, e.g. `rate-limit`), also the frames inside that layer its samples were charged to, and their
// self frames: what in the layer costs what.
import { readFileSync } from 'node:fs';

/** Layers by the file their frames are in (the gateway's and platform's built files, or a package). */
const LAYERS = [
  ['token verification', /platform\/dist\/(auth|keys|trust|sessions)\.js|node_modules\/jose\//],
  ['operation limits and cost', /gateway\/dist\/security\.js|@escape\.tech\/graphql-armor/],
  ['trusted documents / APQ guard', /gateway\/dist\/(document-guard|trusted-documents|client-awareness|client-identity)\.js/],
  ['rate-limit pre-check', /gateway\/dist\/rate-limit\.js|platform\/dist\/rate-limit|rate-limiter-flexible|node_modules\/ioredis\//],
  ['metrics', /platform\/dist\/metrics|gateway\/dist\/metrics\.js|node_modules\/prom-client\//],
  ['tracing (OpenTelemetry, async hooks)', /@opentelemetry\/|platform\/dist\/(telemetry|request-context)|node:async_hooks|async_hooks/],
  ['entity cache', /platform\/dist\/entity-cache/],
  ['response formatting / errors', /gateway\/dist\/error-format\.js|platform\/dist\/errors|@apollo\/server\/dist\/(esm|cjs)\/runHttpQuery/],
  ['usage recording', /gateway\/dist\/usage\//],
  ['Apollo Gateway + planner', /@apollo\/(gateway|query-planner|federation-internals)\//],
  ['Apollo Server (rest)', /@apollo\/server\//],
  ['graphql-js', /node_modules\/graphql\//],
  ['subgraph fetch (undici, data source)', /node_modules\/undici\/|gateway\/dist\/(datasource|fetcher|balancer|breaker|fetch-shape)\.js/],
  ['HTTP server (platform)', /platform\/dist\/(http|http-edge|compression|nul-guard)\.js/],
];

const [file, cpuMsArg, topArg, layerArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.mjs <file.cpuprofile> [cpu-ms per request] [top] [layer]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const cpuMs = cpuMsArg ? Number(cpuMsArg) : undefined;
const top = Number(topArg ?? 25);
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const selfSamples = new Map();
for (const id of profile.samples) selfSamples.set(id, (selfSamples.get(id) ?? 0) + 1);
const idle = (node) => ['(idle)', '(program)'].includes(node.callFrame.functionName);
let busy = 0;
for (const [id, count] of selfSamples) if (!idle(nodes.get(id))) busy += count;

const layerOf = (node) => {
  const url = node.callFrame.url ?? '';
  for (const [name, pattern] of LAYERS) if (pattern.test(url)) return name;
  return undefined;
};
// Each sample to the innermost frame on its stack that belongs to a layer; the rest (GC, idle-loop internals) unattributed.
const layerSamples = new Map();
const frameKey = (node) => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(gateway|platform)\//, '$1/')}:${lineNumber + 1}`;
};
const chosen = { charged: new Map(), self: new Map() };
const add = (map, key, count) => map.set(key, (map.get(key) ?? 0) + count);
for (const [id, count] of selfSamples) {
  if (idle(nodes.get(id))) continue;
  // `at` ends on the innermost frame of a layer (the one the sample is charged to), or undefined.
  let at = id;
  let layer = layerOf(nodes.get(at));
  while (!layer && (at = parent.get(at)) !== undefined) layer = layerOf(nodes.get(at));
  add(layerSamples, layer ?? '(no layer: GC, timers, other)', count);
  if (layerArg && layer?.includes(layerArg)) {
    add(chosen.charged, frameKey(nodes.get(at)), count);
    add(chosen.self, frameKey(nodes.get(id)), count);
  }
}
const share = (count) => count / busy;
const fmt = (count) => `${(100 * share(count)).toFixed(1)} %${cpuMs ? ` (${Math.round(1000 * cpuMs * share(count))} µs/req)` : ''}`;
console.log(`${file}: ${busy} busy samples of ${profile.samples.length}`);
console.log('\nlayer (each sample charged to the innermost layer frame on its stack)');
for (const name of [...LAYERS.map(([n]) => n), '(no layer: GC, timers, other)']) console.log(`  ${name}: ${fmt(layerSamples.get(name) ?? 0)}`);

const frames = new Map();
for (const [id, count] of selfSamples) {
  const node = nodes.get(id);
  if (idle(node)) continue;
  add(frames, frameKey(node), count);
}
console.log(`\ntop ${top} frames by self time`);
for (const [key, count] of [...frames].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${fmt(count)}  ${key}`);
if (layerArg) {
  for (const [title, map] of [[`charged to, in ${layerArg}`, chosen.charged], [`self frames under ${layerArg}`, chosen.self]]) {
    console.log(`\n${title}`);
    for (const [key, count] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${fmt(count)}  ${key}`);
  }
}
