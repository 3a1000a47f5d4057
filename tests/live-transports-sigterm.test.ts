import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { freePort, testToken } from '@suoke/platform/testing';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './harness.js';
import { codesOf, MULTIPART_ACCEPT, postSubscription, SECRET, SSE_ACCEPT, subscribe, TICK, useLiveStack, user, waitFor } from './live-harness.js';

/**
 * SIGTERM to the compiled gateway run as its own process (as in production):
 * every open stream, over multipart, SSE and WebSocket, ends with a reason
 * (SERVICE_UNAVAILABLE) before the process exits, and the subgraph-side
 * streams are closed.
 */
const live = useLiveStack();

function childEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(JWT_|GATEWAY_|DATABASE_|REDIS_|SUBGRAPH_|PGLITE_|OTEL_|SUPERGRAPH_|PORT$|NODE_ENV$|RATE_LIMITS$|SHUTDOWN_)/.test(key)),
  );
}

describe('SIGTERM to a gateway process with open HTTP and WebSocket subscriptions', () => {
  it('completes every stream with SERVICE_UNAVAILABLE, closes upstream, then exits 0', async () => {
    const port = await freePort();
    let output = '';
    const child = spawn(process.execPath, [path.join(repoRoot, 'gateway/dist/index.js')], {
      cwd: repoRoot,
      env: {
        ...childEnv(),
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        OTEL_SDK_DISABLED: 'true',
        // Not about usage: without it every spawned gateway would share the repository's .data/gateway-usage.
        USAGE_RECORDING: 'off',
        GATEWAY_PORT: String(port),
        GATEWAY_SECRET: SECRET,
        SUPERGRAPH_PATH: live.supergraphPath,
        SUBGRAPH_EVENTS_URL: live.events.url,
        SUBGRAPH_EXTRAS_URL: live.extras.url,
        SHUTDOWN_GRACE_MS: '3000',
        ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-4_000)));
    child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-4_000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}/graphql`;
      const deadline = Date.now() + 60_000;
      while (!(await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false))) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`gateway not ready: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const token = await testToken(user());
      const channel = randomUUID();
      const multipart = await postSubscription(url, { query: TICK, variables: { channel } }, { accept: MULTIPART_ACCEPT, token });
      const sse = await postSubscription(url, { query: TICK, variables: { channel } }, { accept: SSE_ACCEPT, token });
      const { client } = live.connect({ authorization: `Bearer ${token}` }, url.replace(/^http/, 'ws'));
      const ws = subscribe(client, TICK, { channel });
      await waitFor(() => live.events.subscribers(channel) === 3, 'three upstream subscriptions', 10_000);
      live.events.publish(channel, { id: 'before', name: 'before' });
      await waitFor(() => ws.received.length === 1 && sse.parts.some((p) => p.event === 'next') && multipart.parts.some((p) => p.payload), 'one event each');

      child.kill('SIGTERM');
      await waitFor(() => multipart.ended() && sse.ended() && ws.state.completed, 'every stream ended', 5_000);
      expect(multipart.parts.filter((p) => p.payload !== undefined).at(-1)).toMatchObject({ payload: null, errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
      expect(multipart.raw().endsWith('\r\n--graphql--\r\n')).toBe(true);
      expect(sse.parts.filter((p) => p.event === 'next').map((m) => codesOf(m.data))).toEqual([[], ['SERVICE_UNAVAILABLE']]);
      expect(sse.parts.at(-1)).toEqual({ event: 'complete', data: null });
      expect(ws.received.map(codesOf)).toEqual([[], ['SERVICE_UNAVAILABLE']]);
      await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 2_000);
      expect(await exited, output).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);
});
