import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { SupergraphSdlHook } from '@apollo/gateway';
import type { Logger } from '@suoke/platform';
import { Kind, parse, visit } from 'graphql';

/**
 * Apollo Gateway refuses a supergraph with a `for: SECURITY` feature it does
 * not enforce itself. `@authenticated` and `@requiresScopes` are enforced by
 * every subgraph (platform withAuthDirectives), so for these two only the
 * gateway is told to load them; any other security feature still fails closed.
 * The committed file stays exactly what composition produced (and what Apollo
 * Router reads).
 */
export function acknowledgeSubgraphEnforcedFeatures(sdl: string): string {
  // Only the `for:` argument of the matching @link directives is cut from the
  // text (from the end of the argument before it), so the rest stays byte for byte.
  const cuts: Array<[number, number]> = [];
  visit(parse(sdl), {
    Directive(node) {
      if (node.name.value !== 'link' || !node.arguments) return;
      const url = node.arguments.find((arg) => arg.name.value === 'url');
      const purpose = node.arguments.find((arg) => arg.name.value === 'for');
      if (!url || !purpose || url.value.kind !== Kind.STRING || !SUBGRAPH_ENFORCED.test(url.value.value)) return;
      if (purpose.value.kind !== Kind.ENUM || purpose.value.value !== 'SECURITY') return;
      const before = node.arguments[node.arguments.indexOf(purpose) - 1];
      if (!before?.loc || !purpose.loc) return;
      cuts.push([before.loc.end, purpose.loc.end]);
    },
  });
  let out = '';
  let from = 0;
  for (const [start, end] of cuts) {
    out += sdl.slice(from, start);
    from = end;
  }
  return out + sdl.slice(from);
}

/** The features every subgraph enforces itself (platform withAuthDirectives). */
const SUBGRAPH_ENFORCED = /^https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v[0-9.]+$/;

export interface SupergraphFileOptions {
  file: string;
  log: Logger;
  pollMs: number;
  /** Called after every accepted or rejected update (tests wait on it). */
  onUpdate?: (outcome: { accepted: boolean; hash: string; error?: string }) => void;
  /** Work done for a healthy supergraph before it is swapped in (pre-planning, plan-cache.ts). */
  preparation?: SwapPreparation;
}

/**
 * What runs around a swap: `prepare` once the new supergraph passed its health
 * check (its failure is logged and the swap goes ahead), `arm` right before the
 * gateway is given it and `settled` right after, whether it took it or not.
 */
export interface SwapPreparation {
  prepare(sdl: string): Promise<void>;
  arm(sdl: string): void;
  settled(): void;
}

/**
 * The `supergraphSdl` function form: serves the file, then watches it. A
 * changed file is health-checked against its subgraphs and swapped in; an
 * invalid or unhealthy one is rejected with a log line and the old supergraph
 * keeps serving.
 */
export function supergraphFromFile(options: SupergraphFileOptions): SupergraphSdlHook {
  return async ({ update, healthCheck }) => {
    let checkedVersion = await fileVersion(options.file);
    let current = await readFile(options.file, 'utf8');
    let currentHash = hash(current);
    let checking: Promise<void> = Promise.resolve();
    let timer: NodeJS.Timeout | undefined;

    const check = () => {
      checking = checking.then(async () => {
        // The poll finds the file unchanged nearly every time: its inode, size and mtime say so without
        // reading it twice and hashing it (which was most of an idle gateway's CPU).
        const version = await fileVersion(options.file);
        if (version !== undefined && version === checkedVersion) return;
        let next: string;
        try {
          next = await readStable(options.file);
          checkedVersion = version;
        } catch (error) {
          options.log.warn({ file: options.file, err: error }, 'supergraph file unreadable; keeping the current one');
          return;
        }
        const nextHash = hash(next);
        if (nextHash === currentHash) return;
        try {
          const prepared = acknowledgeSubgraphEnforcedFeatures(next);
          await healthCheck(prepared);
          if (options.preparation) {
            try {
              await options.preparation.prepare(prepared);
            } catch (error) {
              options.log.warn({ hash: nextHash.slice(0, 12), err: error }, 'supergraph swap preparation failed; swapping without it');
            }
          }
          try {
            options.preparation?.arm(prepared);
            update(prepared);
          } finally {
            options.preparation?.settled();
          }
          current = next;
          currentHash = nextHash;
          options.log.info({ hash: nextHash.slice(0, 12) }, 'supergraph updated');
          options.onUpdate?.({ accepted: true, hash: nextHash });
        } catch (error) {
          // Remember the rejected content so that it is not retried in a loop; a new write is checked again.
          currentHash = nextHash;
          const message = error instanceof Error ? error.message : String(error);
          options.log.error({ hash: nextHash.slice(0, 12), reason: message }, 'supergraph rejected; the previous one keeps serving');
          options.onUpdate?.({ accepted: false, hash: nextHash, error: message });
        }
      });
    };
    const debounced = () => {
      clearTimeout(timer);
      timer = setTimeout(check, 50);
    };

    // Watch the directory: editors and ConfigMaps replace the file rather than write into it.
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(path.dirname(options.file), (_event, name) => {
        if (!name || name === path.basename(options.file) || name.startsWith('..')) debounced();
      });
    } catch (error) {
      options.log.warn({ err: error }, 'file watching unavailable; polling only');
    }
    const poll = setInterval(check, options.pollMs);
    poll.unref();

    return {
      supergraphSdl: acknowledgeSubgraphEnforcedFeatures(current),
      async cleanup() {
        watcher?.close();
        clearInterval(poll);
        clearTimeout(timer);
        await checking;
      },
    };
  };
}

/**
 * Reads the file until two reads 100 ms apart agree, so that a publisher that
 * writes in place (rather than write-then-rename) is not judged half-written.
 */
export async function readStable(file: string, attempts = 20): Promise<string> {
  let previous = await readFile(file, 'utf8');
  for (let i = 0; i < attempts; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const current = await readFile(file, 'utf8');
    if (current === previous && current.length > 0) return current;
    previous = current;
  }
  return previous;
}

/** Inode, size and modification time of `file` (a file replaced or written changes at least one), or undefined if it cannot be read. */
async function fileVersion(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file, { bigint: true });
    return `${info.ino}:${info.size}:${info.mtimeNs}`;
  } catch {
    return undefined;
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
