// Preloaded into a measured process (NODE_OPTIONS="--require <this file>"; `--cpu-prof` itself is refused in
// NODE_OPTIONS): V8's sampling profiler through node:inspector, started CPU_PROFILE_DELAY_MS after start
// (default 20 s, past a bench's warm-up) for CPU_PROFILE_MS (default 15 s), written as
// <CPU_PROFILE_DIR>/<script's folder>-<pid>.cpuprofile (Chrome DevTools' format; bench/tools/profile-summary.mjs
// reads it). CPU_PROFILE_INTERVAL_US sets the sampling interval (default 200 µs).
// CPU_PROFILE_SIGNAL (e.g. SIGUSR2) replaces the timers: the first such signal starts the profile, the next one
// stops and writes it, so a bench profiles exactly its measured load (`npm run bench -- ab` with AB_PROFILE=1).
// CPU_PROFILE_ONLY (e.g. `gateway`, or `gateway,user`) profiles only the processes of those names: the others
// ignore the signal. Each profiled process's sampler thread wakes every interval, busy or not, so profiling
// every process of a stack slows the whole machine; profile the ones under study.
const { Session } = require('node:inspector');
const { writeFileSync, mkdirSync } = require('node:fs');
const path = require('node:path');

const dir = process.env.CPU_PROFILE_DIR;
const only = process.env.CPU_PROFILE_ONLY?.split(',');
const processName = path.basename(path.dirname(path.dirname(process.argv[1] ?? 'node')));
if (dir && only && !only.includes(processName)) {
  if (process.env.CPU_PROFILE_SIGNAL) process.on(process.env.CPU_PROFILE_SIGNAL, () => {});
} else if (dir) {
  const delay = Number(process.env.CPU_PROFILE_DELAY_MS ?? 20_000);
  const duration = Number(process.env.CPU_PROFILE_MS ?? 15_000);
  const interval = Number(process.env.CPU_PROFILE_INTERVAL_US ?? 200);
  const name = `${processName}-${process.pid}.cpuprofile`;
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  const start = async () => {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval });
    await post('Profiler.start');
  };
  const stop = async () => {
    const { profile } = await post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, name), JSON.stringify(profile));
  };
  const report = (error) => process.stderr.write(`cpu-profile: ${error}\n`);
  const signal = process.env.CPU_PROFILE_SIGNAL;
  if (signal) {
    let running = false;
    process.on(signal, () => {
      running = !running;
      (running ? start() : stop()).catch(report);
    });
  } else {
    setTimeout(() => {
      start()
        .then(() => setTimeout(() => stop().catch(report), duration).unref())
        .catch(report);
    }, delay).unref();
  }
}
