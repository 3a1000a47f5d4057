import type { Logger } from './logger.js';

const POSTGRES_LOST_SOCKET_MESSAGE = "Cannot read properties of null (reading 'write')";
const POSTGRES_CONNECTION_MODULE = /[\\/]postgres[\\/](?:cjs[\\/]|cf[\\/])?src[\\/]connection\.js/;

/**
 * postgres.js can write to the socket of a connection it has just lost when
 * PostgreSQL is killed under it, throwing this TypeError from a socket
 * callback where nothing can catch it. The client reconnects by itself and the
 * failed statement has already been answered with an error, so the process
 * may go on (tests/postgres-restart.test.ts). Recognised by its exact message
 * and by being thrown inside postgres.js's connection module, nothing wider.
 */
export function isPostgresLostSocketError(error: unknown): boolean {
  return (
    error instanceof TypeError &&
    error.message === POSTGRES_LOST_SOCKET_MESSAGE &&
    POSTGRES_CONNECTION_MODULE.test(error.stack?.split('\n').slice(1, 3).join('\n') ?? '')
  );
}

export interface ProcessGuardOptions {
  log: Logger;
  /** The process to guard; `process` by default (tests pass a stand-in). */
  target?: Pick<NodeJS.Process, 'on' | 'off' | 'exit'>;
  /** Where the crash of any other error is printed before exiting; stderr by default. */
  printCrash?: (error: unknown) => void;
}

/**
 * Keeps a service up through the one known harmless uncaught exception
 * (logged at error level; readiness answers 503 while the database is away),
 * and ends the process on any other one as Node would: logged as fatal,
 * printed to stderr, exit code 1. Unhandled rejections arrive here too (Node
 * raises them as uncaught exceptions). Returns the uninstaller.
 */
export function installProcessGuard(options: ProcessGuardOptions): () => void {
  const target = options.target ?? process;
  const printCrash = options.printCrash ?? ((error: unknown) => console.error(error));
  const onUncaught = (error: unknown, origin?: string) => {
    if (isPostgresLostSocketError(error)) {
      options.log.error({ err: error, origin }, 'postgres.js wrote to a lost connection; it reconnects, the process goes on');
      return;
    }
    try {
      options.log.fatal({ err: error, origin }, 'uncaught exception: exiting');
      printCrash(error);
    } finally {
      target.exit(1);
    }
  };
  target.on('uncaughtException', onUncaught);
  return () => {
    target.off('uncaughtException', onUncaught);
  };
}
