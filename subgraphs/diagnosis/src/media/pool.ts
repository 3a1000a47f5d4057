import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Logger } from '@suoke/platform';
import type { WorkerOutcome } from './analysis-worker.js';
import { MediaRefusal } from './contracts.js';
import type { MediaKinds } from './kinds.js';

/**
 * The analyses run in worker threads: a 10-s recording's pitch tracking or a photo's pixel loops hold a thread for
 * hundreds of milliseconds, which on the GraphQL thread would stall every request of this process meanwhile. The job
 * engine still decides what runs (durable, retried); the pool only decides where.
 *
 * The worker is the compiled `analysis-worker.js` beside this file. Tests run the TypeScript sources, whose worker
 * cannot be loaded by a thread: they use the package's build (made by `npm test`) when present, else run in-process.
 */
export interface AnalysisPool {
  /** The kinds with `analyse` sent to the pool (unchanged when the pool is off). */
  kinds: MediaKinds;
  threads: number;
  close(): Promise<void>;
}

function workerFile(): string | undefined {
  const here = import.meta.url;
  const file = fileURLToPath(here.endsWith('.ts') ? new URL('../../dist/media/analysis-worker.js', here) : new URL('./analysis-worker.js', here));
  return existsSync(file) ? file : undefined;
}

export function analysisPool(kinds: MediaKinds, threads: number, log: Logger): AnalysisPool {
  const filename = threads > 0 ? workerFile() : undefined;
  if (threads > 0 && !filename) log.warn('media analysis worker not built (run npm run build): analysing on the main thread');
  if (!filename) return { kinds, threads: 0, close: async () => undefined };
  const piscina = new Piscina({ filename, minThreads: threads, maxThreads: threads, idleTimeout: 60_000 });
  const run = (kind: keyof MediaKinds) => async (bytes: Buffer) => {
    // A copy the thread owns outright (moved, not cloned again): the store's buffer may be a slice of a larger pool.
    const owned = new Uint8Array(bytes).buffer;
    const outcome = (await piscina.run({ kind, bytes: owned }, { transferList: [owned] })) as WorkerOutcome;
    if (!outcome.ok) throw new MediaRefusal(outcome.reason, outcome.message);
    return outcome.analysis;
  };
  return {
    kinds: {
      TONGUE_PHOTO: { ...kinds.TONGUE_PHOTO, analyse: run('TONGUE_PHOTO') },
      VOICE_RECORDING: { ...kinds.VOICE_RECORDING, analyse: run('VOICE_RECORDING') },
    },
    threads,
    close: () => piscina.destroy(),
  };
}
