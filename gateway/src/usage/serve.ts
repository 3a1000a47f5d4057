import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { UsageConfig } from './config.js';
import type { SubgraphEntry, UsageEntry, UsageReader, Window } from './store.js';

/**
 * Embedded PGlite is one process's database: while the gateway runs, `npm run usage` may not open
 * the same folder (two PostgreSQL instances on one data directory corrupt it). So the gateway that
 * holds it answers the CLI's reads itself, on a loopback port with a random token, both written
 * (mode 0600) to `<PGLITE_DATA_DIR or .data>/gateway-usage.reader.json` and removed at stop. The
 * CLI finds the file, checks the process is alive and asks; without a live gateway it opens the
 * folder directly. The reads run the store's SQL in the gateway's process: the same answers.
 */
export function readerFile(config: Pick<UsageConfig, 'PGLITE_DATA_DIR'>): string {
  return path.join(config.PGLITE_DATA_DIR ?? path.resolve('.data'), 'gateway-usage.reader.json');
}

interface ReaderAddress {
  port: number;
  token: string;
  pid: number;
}

export async function serveReader(reader: UsageReader, file: string): Promise<{ close(): Promise<void> }> {
  const token = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const server = http.createServer((req, res) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (req.method !== 'POST' || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(403).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { from: string; to: string; coordinate?: string };
          const window = { from: new Date(body.from), to: new Date(body.to) };
          const rows = req.url === '/subgraphs' ? await reader.subgraphs(window, body.coordinate) : await reader.entries(window, body.coordinate);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(rows));
        } catch (error) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end((error as Error).message);
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  writeFileSync(file, JSON.stringify({ port, token, pid: process.pid } satisfies ReaderAddress), { mode: 0o600 });
  return {
    async close() {
      rmSync(file, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The running gateway's reader, or undefined when none holds the embedded store (no file, or its process is gone). */
export function runningReader(file: string): UsageReader | undefined {
  let address: ReaderAddress;
  try {
    address = JSON.parse(readFileSync(file, 'utf8')) as ReaderAddress;
  } catch {
    return undefined;
  }
  try {
    process.kill(address.pid, 0);
  } catch (error) {
    // EPERM: alive but another user's; only ESRCH means the gateway is gone.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
  }
  const ask = async <T>(route: string, window: Window, coordinate?: string): Promise<T> => {
    const response = await fetch(`http://127.0.0.1:${address.port}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${address.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: window.from.toISOString(), to: window.to.toISOString(), coordinate }),
    }).catch((error: unknown) => {
      throw new Error(`the gateway (pid ${address.pid}) holds the embedded usage store but does not answer on 127.0.0.1:${address.port}: ${(error as Error).message}`);
    });
    if (!response.ok) throw new Error(`the gateway's usage reader answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    entries: (window, coordinate) => ask<UsageEntry[]>('/entries', window, coordinate),
    subgraphs: (window, coordinate) => ask<SubgraphEntry[]>('/subgraphs', window, coordinate),
    close: async () => {},
  };
}
