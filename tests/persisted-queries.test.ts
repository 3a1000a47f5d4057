import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, post, repoRoot, startStack, type Stack } from './harness.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const manifestFile = path.join(repoRoot, 'clients', 'app', 'generated', 'persisted-documents.json');
const TTL_SECONDS = 2;

/** A valid operation of exactly `bytes` UTF-8 bytes, unique per call (a comment pads it: comments are not tokens). */
function documentOf(bytes: number): string {
  const head = `{ me { id } } # ${randomUUID()} `;
  return head + 'x'.repeat(bytes - Buffer.byteLength(head));
}

/**
 * Automatic persisted queries, in the test environment's default trusted
 * documents mode (`allow`, with a manifest configured): stored in Redis when
 * REDIS_URL is set (suoke:gateway:apq:<sha256>), else in Apollo's in-memory LRU.
 */
describe('automatic persisted queries: size cap and TTL', () => {
  let stack: Stack;
  let redis: Redis | undefined;
  const apqKey = (hash: string) => `suoke:gateway:apq:${hash}`;

  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { APQ_TTL_SECONDS: String(TTL_SECONDS), TRUSTED_DOCUMENTS_PATH: manifestFile } });
    if (process.env.REDIS_URL) {
      const { Redis: Client } = await import('ioredis');
      redis = new Client(process.env.REDIS_URL);
    }
  });
  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  /** Sends the hash alone: the answer says whether the gateway holds the document. */
  const byHash = (hash: string) => post(stack.gatewayUrl, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });

  it('refuses to register a document over 16 KiB (the default) with PERSISTED_QUERY_TOO_LARGE, and stores nothing', async () => {
    const query = documentOf(16 * 1024 + 1);
    const hash = sha256(query);
    const register = await post(stack.gatewayUrl, { query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(register.status).toBe(400);
    expect(codes(register)).toEqual(['PERSISTED_QUERY_TOO_LARGE']);
    expect(register.errors?.[0]?.message).toMatch(/at most 16384 bytes; this document has 16385/);
    expect(codes(await byHash(hash))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    if (redis) expect(await redis.exists(apqKey(hash))).toBe(0);
    // The same text without the extension is an ordinary request: nothing is stored, nothing refused.
    const plain = await stack.query(query);
    expect(plain.errors).toBeUndefined();
    expect(codes(await byHash(hash))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it('registers a document at the cap, and forgets it after APQ_TTL_SECONDS', async () => {
    const query = documentOf(16 * 1024);
    const hash = sha256(query);
    const register = await post(stack.gatewayUrl, { query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(register.errors).toBeUndefined();
    // Stored after the answer is sent: wait for it to be there.
    let hit = await byHash(hash);
    for (let i = 0; i < 20 && hit.errors; i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      hit = await byHash(hash);
    }
    expect(hit.errors).toBeUndefined();
    expect(hit.data).toEqual({ me: null });
    if (redis) {
      const ttl = await redis.ttl(apqKey(hash));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(TTL_SECONDS);
    }
    await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 300));
    expect(codes(await byHash(hash))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    if (redis) expect(await redis.exists(apqKey(hash))).toBe(0);
  });

  it('allows any text in the test default (allow), resolves manifest ids, and does not copy them into the APQ store', async () => {
    expect((await stack.query('{ agents { id } }')).errors).toBeUndefined();
    const [id, text] = Object.entries(JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, string>).find(([, t]) => t.startsWith('query Agents'))!;
    const hash = id.replace(/^sha256:/, '');
    await redis?.del(apqKey(hash));
    const byId = await post<{ agents: unknown[] }>(stack.gatewayUrl, { documentId: id });
    expect(byId.errors).toBeUndefined();
    expect(byId.data?.agents.length).toBeGreaterThan(0);
    // Apollo Client's first attempt with the hash alone works: the manifest answers, not the APQ store.
    const viaHash = await byHash(hash);
    expect(viaHash.errors).toBeUndefined();
    const registered = await post(stack.gatewayUrl, { query: text, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(registered.errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    if (redis) expect(await redis.exists(apqKey(hash))).toBe(0);
    // An id the manifest does not hold is not run, whatever the mode.
    expect(codes(await post(stack.gatewayUrl, { documentId: `sha256:${sha256('{ me { email } }')}` }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});
