import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkSeams } from '@suoke/platform';
import { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { gatewaySeams } from '../src/seams.js';

const gatewaySrc = new URL('../src/seams.ts', import.meta.url).href;

describe('gateway seams into library internals', () => {
  it('every internal the gateway relies on is still there and shaped as expected', () => {
    expect(checkSeams(gatewaySeams, gatewaySrc)).toEqual([]);
  });

  it("undici still drives the original handler interface, onRequestSent included (exchange.ts's send)", async () => {
    const server = createServer((_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const calls: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        pool.dispatch(
          { path: '/', method: 'GET', headers: {} },
          {
            onConnect: () => calls.push('connect'),
            onRequestSent: () => calls.push('sent'),
            onHeaders: (status: number) => calls.push(`headers ${status}`) > 0,
            onData: () => calls.push('data') > 0,
            onComplete: () => resolve(),
            onError: reject,
          } as Parameters<Pool['dispatch']>[1] & { onRequestSent(): void },
        );
      });
    } finally {
      await pool.close();
      server.close();
    }
    expect(calls, `undici changed the handler interface exchange.ts relies on (gatewaySeams.undiciLegacyHandler)`).toEqual(['connect', 'sent', 'headers 200', 'data']);
  });
});
