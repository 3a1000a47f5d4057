import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { codes, post, repoRoot, startStack, type Stack, waitForOutcome as waitForOutcomeIn } from './harness.js';

describe('gateway in development', () => {
  let stack: Stack;
  let supergraphFile: string;
  const updates: { accepted: boolean; error?: string }[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'suoke-supergraph-'));
    supergraphFile = path.join(dir, 'supergraph.graphql');
    copyFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), supergraphFile);
    stack = await startStack({ gatewayEnv: { SUPERGRAPH_PATH: supergraphFile }, onSupergraphUpdate: (u) => updates.push(u) });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const waitForOutcome = (from: number, accepted: boolean) => waitForOutcomeIn(updates, from, accepted, 'supergraph update');

  it('serves Apollo Sandbox as the landing page', async () => {
    const response = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html.toLowerCase()).toContain('sandbox');
  });

  it('answers with a request id and allows introspection', async () => {
    const response = await stack.query('{ __schema { queryType { name } } }');
    expect(response.data?.__schema.queryType.name).toBe('Query');
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps serving the old supergraph when the file becomes invalid, and swaps in a valid new one', async () => {
    writeFileSync(supergraphFile, 'schema { this is not a supergraph');
    await waitForOutcome(0, false);
    expect(updates.some((u) => u.accepted)).toBe(false);
    expect((await stack.query('{ me { id } }')).errors).toBeUndefined();

    const { subgraphs } = readSupergraphConfig();
    const userSdl = readFileSync(subgraphs.find((s) => s.name === 'user')!.schemaFile, 'utf8').replace(
      'type User @key(fields: "id") {',
      'type User @key(fields: "id") {\n  """\n  A field added by the hot-reload test.\n  """\n  nickname: String',
    );
    const composed = compose(subgraphs, { user: userSdl });
    expect(composed.errors).toBeUndefined();
    // Published as the README says: write beside it, then rename over it.
    const seen = updates.length;
    writeFileSync(`${supergraphFile}.next`, composed.supergraphSdl!);
    renameSync(`${supergraphFile}.next`, supergraphFile);
    await waitForOutcome(seen, true);
    const fields = await stack.query('{ __type(name: "User") { fields { name } } }');
    expect(fields.data?.__type.fields.map((f: { name: string }) => f.name)).toContain('nickname');
  });

  it('refuses batched HTTP arrays and oversized bodies', async () => {
    const batched = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]),
    });
    expect(batched.status).toBe(400);
    const huge = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(1_100_000)}` }),
    });
    expect(huge.status).toBe(413);
  });

  it('supports automatic persisted queries (stored in Redis when REDIS_URL is set)', async () => {
    // Unique per run: a shared Redis keeps persisted queries across runs, as it should.
    const query = `{ me { id displayName } } # ${randomUUID()}`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const miss = await post(stack.gatewayUrl, { extensions });
    expect(codes(miss)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const register = await post(stack.gatewayUrl, { query, extensions });
    expect(register.errors).toBeUndefined();
    const hit = await post(stack.gatewayUrl, { extensions });
    expect(hit.errors).toBeUndefined();
    expect(hit.data).toEqual({ me: null });
    if (process.env.REDIS_URL) {
      const { Redis } = await import('ioredis');
      const redis = new Redis(process.env.REDIS_URL);
      try {
        expect(await redis.exists(`suoke:gateway:apq:${sha256Hash}`)).toBe(1);
      } finally {
        redis.disconnect();
      }
    }
  });
});

describe('gateway in production', () => {
  let stack: Stack;
  const secret = 'a-gateway-secret-for-tests-only';
  beforeAll(async () => {
    // The harness configures the user subgraph's and the services' JWKS URLs, as production requires.
    stack = await startStack({
      gatewayEnv: { NODE_ENV: 'production', GATEWAY_SECRET: secret },
      subgraphEnv: { GATEWAY_SECRET: secret },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('turns introspection and the landing page off', async () => {
    const introspection = await stack.query('{ __schema { queryType { name } } }');
    expect(codes(introspection)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const page = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html' } });
    expect((await page.text()).toLowerCase()).not.toContain('sandbox');
  });

  it('reaches subgraphs with the shared secret, which direct callers lack', async () => {
    const through = await stack.query('{ me { id } }');
    expect(through.errors).toBeUndefined();
    const direct = await post(stack.subgraphUrls.user!, { query: '{ me { id } }' });
    expect(direct.status).toBe(401);
    expect(codes(direct)).toEqual(['UNAUTHENTICATED']);
  });
});
