import http from 'node:http';
import net from 'node:net';
import { parse } from 'graphql';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createSubgraph, subgraphEnv, type Subgraph } from '../src/subgraph/index.js';
import type { TestDatabase } from '../src/testing.js';

export const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    hello: String
    "A few kilobytes: over the compression threshold."
    big: String
  }
`);
export const BIG = 'suoke '.repeat(2_000);
const resolvers = { Query: { hello: () => 'world', big: () => BIG } };
export const log = createLogger({ service: 'edge-test', level: 'silent', format: 'json' });

export interface Started {
  subgraph: Subgraph<object>;
  port: number;
  metricsPort?: number | undefined;
  stats: { inflatedBytes: number; refusedConnections: number };
}

/** A subgraph over real sockets on 127.0.0.1, with `env` on top of the test defaults. */
export async function startEdge(database: TestDatabase, env: Record<string, string>, running: Subgraph<object>[]): Promise<Started> {
  const config = loadConfig('edge-test', subgraphEnv(0), { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });
  const subgraph = createSubgraph({ name: 'edge-test', typeDefs, resolvers, config, database: database.database, createLoaders: () => ({}), log });
  running.push(subgraph);
  const { port, metricsPort } = await subgraph.listen(0, '127.0.0.1');
  return { subgraph, port, metricsPort, stats: subgraph.stats as unknown as Started['stats'] };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on its own connection, the body left as sent (no decompression), optionally from another loopback address. */
export function raw(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer | string; localAddress?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/graphql', headers: options.headers, agent: false, localAddress: options.localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

export const gql = (query: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify({ query }),
});

/** A TCP socket from `localAddress`, resolved once connected. */
export function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the server has closed `socket`, with what it sent before. */
export function closed(socket: net.Socket): Promise<string> {
  let received = '';
  socket.on('data', (c: Buffer) => {
    received += c.toString('latin1');
  });
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(received)));
}
