import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { installProcessGuard, isPostgresLostSocketError } from '../src/process-guard.js';

const MESSAGE = "Cannot read properties of null (reading 'write')";

/** The TypeError postgres.js throws when PostgreSQL is killed under it, with the stack it has then. */
function lostSocketError(file = '/app/node_modules/postgres/src/connection.js'): TypeError {
  const error = new TypeError(MESSAGE);
  error.stack = `TypeError: ${MESSAGE}\n    at write (${file}:255:22)\n    at Object.execute (${file}:171:11)\n    at go (/app/node_modules/postgres/src/index.js:288:14)`;
  return error;
}

describe('isPostgresLostSocketError', () => {
  it("recognises postgres.js's lost-socket TypeError, from its ESM, CommonJS or Cloudflare build, on Windows paths too", () => {
    expect(isPostgresLostSocketError(lostSocketError())).toBe(true);
    expect(isPostgresLostSocketError(lostSocketError('/app/node_modules/postgres/cjs/src/connection.js'))).toBe(true);
    expect(isPostgresLostSocketError(lostSocketError('/app/node_modules/postgres/cf/src/connection.js'))).toBe(true);
    expect(isPostgresLostSocketError(lostSocketError('C:\\app\\node_modules\\postgres\\src\\connection.js'))).toBe(true);
  });

  it('refuses everything else: same message elsewhere, other messages, other types, non-errors', () => {
    // The same TypeError thrown by our own code (a real one, with this file's stack).
    let ours: unknown;
    try {
      const socket = null as unknown as { write(): void };
      socket.write();
    } catch (error) {
      ours = error;
    }
    expect((ours as Error).message).toBe(MESSAGE);
    expect(isPostgresLostSocketError(ours)).toBe(false);
    expect(isPostgresLostSocketError(lostSocketError('/app/node_modules/not-postgres/src/connection.js'))).toBe(false);
    expect(isPostgresLostSocketError(lostSocketError('/app/node_modules/postgres/src/index.js'))).toBe(false);
    const other = lostSocketError();
    other.message = "Cannot read properties of null (reading 'end')";
    expect(isPostgresLostSocketError(other)).toBe(false);
    const plain = new Error(MESSAGE);
    plain.stack = lostSocketError().stack!;
    expect(isPostgresLostSocketError(plain)).toBe(false);
    // postgres.js deep in the stack, but thrown by someone else on top of it.
    const wrapped = new TypeError(MESSAGE);
    wrapped.stack = `TypeError: ${MESSAGE}\n    at handler (/app/dist/resolvers.js:10:1)\n    at next (/app/dist/loaders.js:5:1)\n    at write (/app/node_modules/postgres/src/connection.js:255:22)`;
    expect(isPostgresLostSocketError(wrapped)).toBe(false);
    expect(isPostgresLostSocketError(MESSAGE)).toBe(false);
    expect(isPostgresLostSocketError(undefined)).toBe(false);
  });
});

describe('installProcessGuard', () => {
  function guarded() {
    const target = Object.assign(new EventEmitter(), { exit: vi.fn() });
    const log = { error: vi.fn(), fatal: vi.fn() };
    const printCrash = vi.fn();
    const uninstall = installProcessGuard({ log: log as unknown as Logger, target: target as never, printCrash });
    return { target, log, printCrash, uninstall };
  }

  it('logs the known postgres.js error at error level and keeps the process running', () => {
    const { target, log, printCrash } = guarded();
    const error = lostSocketError();
    target.emit('uncaughtException', error, 'uncaughtException');
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error.mock.calls[0]![0]).toMatchObject({ err: error });
    expect(log.fatal).not.toHaveBeenCalled();
    expect(printCrash).not.toHaveBeenCalled();
    expect(target.exit).not.toHaveBeenCalled();
  });

  it('ends the process with exit code 1 on any other uncaught exception or unhandled rejection, logged and printed', () => {
    const { target, log, printCrash } = guarded();
    const bug = new TypeError("Cannot read properties of undefined (reading 'id')");
    target.emit('uncaughtException', bug, 'uncaughtException');
    expect(log.fatal).toHaveBeenCalledTimes(1);
    expect(printCrash).toHaveBeenCalledWith(bug);
    expect(target.exit).toHaveBeenCalledWith(1);
    target.emit('uncaughtException', new Error('rejected'), 'unhandledRejection');
    expect(target.exit).toHaveBeenCalledTimes(2);
    expect(log.error).not.toHaveBeenCalled();
  });

  it('still exits when logging the crash fails', () => {
    const { target, log } = guarded();
    log.fatal.mockImplementation(() => {
      throw new Error('log closed');
    });
    expect(() => target.emit('uncaughtException', new Error('bug'))).toThrow('log closed');
    expect(target.exit).toHaveBeenCalledWith(1);
  });

  it('uninstalls its listener', () => {
    const { target, uninstall } = guarded();
    expect(target.listenerCount('uncaughtException')).toBe(1);
    uninstall();
    expect(target.listenerCount('uncaughtException')).toBe(0);
  });
});
