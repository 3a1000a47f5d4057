import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite, type Extension, type Extensions } from '@electric-sql/pglite';

/**
 * In-memory PGlite databases (`memory://`: every test database on the embedded default, and
 * throwaway stacks) start from a copy of one empty cluster instead of running initdb each.
 *
 * initdb is most of what opening a PGlite costs: in WASM it takes several seconds of CPU (15 to 50 s
 * per database on this 2-core machine while other work ran), against 2.5 to 3.5 s to open the same
 * cluster from a tarball under the same load. A test stack opens five. The empty cluster is made
 * once per machine and PGlite version, kept as an uncompressed tarball in the OS temporary folder
 * (written to a private name, then renamed, so a reader never sees half of it), and read once per
 * process. Databases with a data folder (`.data/<service>`) keep their own cluster and never use it.
 * Anything wrong with the copy (unreadable, truncated, another version's) costs one initdb: the
 * file is removed and the database made the usual way.
 */

const require = createRequire(import.meta.url);

function pgliteVersion(): string {
  const entry = require.resolve('@electric-sql/pglite');
  // dist/index.cjs → the package folder, whatever the package's `exports` allow.
  const manifest = path.join(path.dirname(entry), '..', 'package.json');
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** Where the empty cluster's tarball is kept on this machine, for this user and PGlite version. */
export function pgliteTemplatePath(): string {
  const user = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return path.join(tmpdir(), `suoke-pglite-${pgliteVersion()}-${user}.tar`);
}

/** Each template file's tarball, read (or made) once per process. */
const templates = new Map<string, Promise<Blob | undefined>>();

async function makeTemplate(file: string): Promise<Blob> {
  const cluster = await PGlite.create('memory://');
  try {
    const dump = await cluster.dumpDataDir('none');
    const bytes = new Uint8Array(await dump.arrayBuffer());
    const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(partial, bytes);
    await rename(partial, file).catch(async () => rm(partial, { force: true }));
    return new Blob([bytes]);
  } finally {
    await cluster.close();
  }
}

async function loadTemplate(file: string): Promise<Blob | undefined> {
  const bytes = await readFile(file).catch(() => undefined);
  if (bytes && bytes.length > 0) return new Blob([bytes]);
  return makeTemplate(file);
}

/** The empty cluster's tarball kept in `file`, or undefined when none could be read or made. */
function pgliteTemplate(file: string): Promise<Blob | undefined> {
  let template = templates.get(file);
  if (!template) {
    template = loadTemplate(file).catch(() => undefined);
    templates.set(file, template);
  }
  return template;
}

/**
 * Opens an in-memory PGlite from the template; when the template does not load, forgets it (and its
 * file) and runs initdb as PGlite does by default.
 */
export async function createMemoryPglite(options: { extensions?: Record<string, unknown>; templateFile?: string }): Promise<PGlite> {
  const extensions = options.extensions ? { extensions: pgliteExtensions(options.extensions) } : {};
  const file = options.templateFile ?? pgliteTemplatePath();
  const loadDataDir = await pgliteTemplate(file);
  if (loadDataDir) {
    try {
      return await PGlite.create('memory://', { ...extensions, loadDataDir });
    } catch {
      templates.delete(file);
      await rm(file, { force: true });
    }
  }
  return PGlite.create('memory://', extensions);
}

/**
 * PGlite's extensions from the map a subgraph declares (`{ pg_trgm }`, typed loosely there): each must be a
 * PGlite extension (a name and a setup) or a URL of one.
 */
export function pgliteExtensions(declared: Record<string, unknown>): Extensions {
  const out: Extensions = {};
  for (const [namespace, value] of Object.entries(declared)) {
    if (!(value instanceof URL) && !isExtension(value)) throw new Error(`PGlite extension ${namespace}: not an extension (a name and a setup) nor a URL`);
    out[namespace] = value;
  }
  return out;
}

function isExtension(value: unknown): value is Extension {
  return typeof value === 'object' && value !== null && 'name' in value && typeof value.name === 'string' && 'setup' in value && typeof value.setup === 'function';
}
