import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * A reach into a library's internals that has no public alternative. Each is
 * registered by name (platform's in seams/index.ts, the gateway's in
 * gateway/src/seams.ts) with a check, run by a test, that fails loudly when
 * an upgrade moves or reshapes the internal instead of letting the code that
 * uses it silently stop working.
 */
export interface Seam {
  /** The package whose internal is relied on (`node` for Node's own modules): named, with its version, when the check fails. */
  library: string;
  /** The internal, in a few words. */
  relies: string;
  /** Undefined while the internal is there and shaped as expected; otherwise what changed. */
  check(): string | undefined;
}

/**
 * Runs every check; one message per seam whose internal changed, naming the
 * seam, the library and its installed version (resolved from `from`, the
 * registering module's URL). A check that throws counts as changed.
 */
export function checkSeams(seams: Readonly<Record<string, Seam>>, from: string = import.meta.url): string[] {
  const failures: string[] = [];
  for (const [name, seam] of Object.entries(seams)) {
    let problem: string | undefined;
    try {
      problem = seam.check();
    } catch (error) {
      problem = `check threw: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (problem) failures.push(`seam ${name} (${seam.library}@${libraryVersion(seam.library, from)}): ${problem}; it relies on ${seam.relies}`);
  }
  return failures;
}

/** The installed version of `library` as seen from `from`: its package.json, found above its resolved entry (exports maps may hide the file). */
export function libraryVersion(library: string, from: string = import.meta.url): string {
  if (library === 'node') return process.version;
  try {
    const require = createRequire(from);
    let dir = path.dirname(require.resolve(library));
    for (;;) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === library && pkg.version) return pkg.version;
      } catch {
        // No package.json here: go up.
      }
      const parent = path.dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  } catch {
    return 'unknown';
  }
}
