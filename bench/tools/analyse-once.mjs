// One analysis in a fresh process, for its peak memory: `node bench/tools/analyse-once.mjs photo|voice FILE`.
// Prints JSON { baselineMiB, peakMiB, ms }: VmHWM after loading the code and reading the file, and after analysing it.
import { readFileSync } from 'node:fs';

const [kind, file] = process.argv.slice(2);
const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const module = await import(kind === 'photo' ? '../../subgraphs/diagnosis/dist/media/photo/index.js' : '../../subgraphs/diagnosis/dist/media/voice/index.js');
const bytes = readFileSync(file);
const baselineMiB = hwm();
const started = performance.now();
await (kind === 'photo' ? module.analyseTongue(bytes) : module.analyseVoice(bytes));
const ms = performance.now() - started;
console.log(JSON.stringify({ baselineMiB, peakMiB: hwm(), ms }));
