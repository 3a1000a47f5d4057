// Preloaded into a measured process (node --expose-gc --require): on SIGUSR2 it collects garbage twice and
// writes process.memoryUsage() as JSON to MEM_PROBE_FILE, so a bench reads memory after gc, not before.
// With MEM_SNAPSHOT_DIR set, it also writes a heap snapshot there (to see what the memory is).
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
let n = 0;
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
  if (process.env.MEM_SNAPSHOT_DIR) v8.writeHeapSnapshot(path.join(process.env.MEM_SNAPSHOT_DIR, `gateway-${(n += 1)}.heapsnapshot`));
  writeFileSync(process.env.MEM_PROBE_FILE, JSON.stringify(process.memoryUsage()));
});
