import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Embedded folders this process holds: a second gateway in one process (tests, tools) must not open one either. */
const held = new Set<string>();

/**
 * Takes the embedded usage folder for this process, or throws naming who holds it. PGlite is one
 * process's database: two openers of one folder corrupt it, or spin. The lock is `<folder>.lock`,
 * created exclusively with the holder's pid; a lock whose process is gone is taken over.
 * Returns the release, which `UsageStore.close` calls.
 */
export function lockEmbeddedStore(dir: string): () => void {
  const folder = path.resolve(dir);
  if (held.has(folder)) throw new Error(`another gateway in this process (pid ${process.pid}) holds the embedded usage store in ${folder}; give each its own PGLITE_DATA_DIR, or USAGE_DATABASE_URL`);
  const file = `${folder}.lock`;
  mkdirSync(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      held.add(folder);
      return () => {
        if (!held.delete(folder)) return;
        rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new Error(`another gateway (pid ${pid}) holds the embedded usage store in ${folder}; give each gateway USAGE_DATABASE_URL (one PostgreSQL store for all), or its own PGLITE_DATA_DIR`);
    }
    // Its process is gone (or it is this process's, from a store closed without release): stale.
    rmSync(file, { force: true });
  }
  throw new Error(`could not take the embedded usage store's lock ${file}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
