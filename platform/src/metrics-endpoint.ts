import { createHash, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { BaseConfig } from './config.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/**
 * Where /metrics is served. Metrics name operations, subgraphs and error rates:
 * reconnaissance for an attacker, so in production they are not on the public port.
 *
 * - METRICS_PORT set: only on that port (its own listener, not published with the service's).
 * - METRICS_TOKEN set: only with `Authorization: Bearer <token>`, on whichever port serves it.
 * - production with neither: not served at all (a warning says why).
 * - otherwise (development, tests): on the service's own port, as always.
 */
export function metricsEndpoint(
  config: Pick<BaseConfig, 'NODE_ENV' | 'METRICS_PORT' | 'METRICS_TOKEN'>,
  handler: Handler,
  log: Logger,
) {
  const guarded = config.METRICS_TOKEN ? requireBearer(config.METRICS_TOKEN, handler) : handler;
  const separate = config.METRICS_PORT !== undefined;
  const onPublicPort = !separate && (config.NODE_ENV !== 'production' || config.METRICS_TOKEN !== undefined);
  const publicRoutes: Record<string, Handler> = onPublicPort ? { '/metrics': guarded } : {};
  let server: http.Server | undefined;
  let warned = false;
  return {
    /** Routes for the service's public port. */
    publicRoutes,
    /** Opens the separate metrics port when one is configured; resolves with the bound port. */
    async listen(host?: string): Promise<number | undefined> {
      if (!separate) {
        if (!onPublicPort && !warned) {
          warned = true;
          log.warn('/metrics is not served: NODE_ENV=production needs METRICS_PORT (a port not published) or METRICS_TOKEN');
        }
        return undefined;
      }
      if (!server) {
        server = http.createServer((req, res) => {
          const path = new URL(req.url ?? '/', 'http://localhost').pathname;
          if (path === '/metrics' && req.method === 'GET') {
            void Promise.resolve(guarded(req, res)).catch((error: unknown) => {
              log.error({ err: error }, 'metrics scrape failed');
              if (!res.headersSent) res.writeHead(500).end();
            });
            return;
          }
          res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        });
        server.keepAliveTimeout = 65_000;
        await new Promise<void>((resolve, reject) => {
          server!.once('error', reject);
          server!.listen(config.METRICS_PORT, host, () => {
            server!.off('error', reject);
            resolve();
          });
        });
      }
      return (server.address() as AddressInfo).port;
    },
    async close(): Promise<void> {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
}

/** Compares digests, so neither the token's length nor a matching prefix shows in the time taken. */
function requireBearer(token: string, handler: Handler): Handler {
  const expected = createHash('sha256').update(token).digest();
  return (req, res) => {
    const given = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"', 'cache-control': 'no-store' });
      res.end('unauthorized\n');
      return;
    }
    return handler(req, res);
  };
}
