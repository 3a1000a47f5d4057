// Shared machinery of `npm run bench`, one file per role under bench/lib/: a stack of real processes in
// production mode (stacks, keys, process), load runs with autocannon or paced undici clients (load),
// per-process CPU and RSS from /proc (cpu), and the results files (record). Scenarios import from here.
export { GATEWAY_SECRET, JWT, signTokens } from './lib/keys.mjs';
export { benchNode, freePort, log, otlpSink, runtimeVersion, spawnService, stopChild, waitReady } from './lib/process.mjs';
export { METRICS_TOKEN, metricsHeaders, prepareData, startStack, startSubgraphs } from './lib/stacks.mjs';
export { cpuSeconds, establishedOn, peakRssMiB, rssMiB } from './lib/cpu.mjs';
export { latencyStats, load, median, pacedLoad, percentile, redisCommands, rotated, round } from './lib/load.mjs';
export { benchDir, machine, placeSection, record } from './lib/record.mjs';
