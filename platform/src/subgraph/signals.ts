import type { Logger } from '../logger.js';

/** SIGTERM/SIGINT: drain, run `cleanup` (close the database), exit 0; a second signal exits at once. */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // The same signal again is a person insisting (Ctrl-C twice): exit now. Another one is a supervisor
    // passing the stop on (Ctrl-C reaches `npm start` and its children at once, and it then sends
    // SIGTERM): the drain under way goes on, and flushes what it must.
    if (stopping) {
      if (signal === stopping) process.exit(1);
      return;
    }
    stopping = signal;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
