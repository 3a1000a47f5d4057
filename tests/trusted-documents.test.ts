import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSigningJwk, signingKeyFromJwk } from '@suoke/platform';
import { testServiceToken, testToken } from '@suoke/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig, trustedDocumentIds, trustedOperationNames } from '../gateway/src/server.js';
import { trustedDocumentsMode } from '../gateway/src/config.js';
import { codes, post, repoRoot, startStack, type Stack, waitForOutcome as waitForOutcomeIn } from './harness.js';

/** The manifest `npm run codegen` extracts from clients/app/operations (client preset, persistedDocuments). */
const built = path.join(repoRoot, 'clients', 'app', 'generated', 'persisted-documents.json');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function builtManifest(): Record<string, string> {
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run codegen\` (npm run build does)`);
  return JSON.parse(readFileSync(built, 'utf8')) as Record<string, string>;
}

/** The manifest entry of the named operation: its id (`sha256:<hex>`), bare hash and text. */
function entry(manifest: Record<string, string>, name: string) {
  const found = Object.entries(manifest).find(([, text]) => new RegExp(`^(query|mutation) ${name}\\b|\\} (query|mutation) ${name}\\b`).test(text));
  if (!found) throw new Error(`no operation ${name} in the manifest`);
  return { id: found[0], hash: found[0].replace(/^sha256:/, ''), text: found[1] };
}

/** Publishes a manifest as the README says: write beside it, then rename over it. */
function publish(file: string, manifest: Record<string, string>) {
  writeFileSync(`${file}.next`, JSON.stringify(manifest, null, 2));
  renameSync(`${file}.next`, file);
}

const productionSecret = 'a-gateway-secret-for-tests-only';

describe('trusted documents in production (require by default once a manifest is configured)', () => {
  let stack: Stack;
  let manifestFile: string;
  const manifest = builtManifest();
  const agents = entry(manifest, 'Agents');
  const updates: { accepted: boolean; error?: string }[] = [];
  const token = (roles: string[]) => testToken({ id: randomUUID(), roles });

  beforeAll(async () => {
    manifestFile = path.join(mkdtempSync(path.join(tmpdir(), 'suoke-trusted-')), 'persisted-documents.json');
    publish(manifestFile, manifest);
    stack = await startStack({
      // No TRUSTED_DOCUMENTS: production's default with a manifest is `require`.
      gatewayEnv: { NODE_ENV: 'production', GATEWAY_SECRET: productionSecret, TRUSTED_DOCUMENTS_PATH: manifestFile, TRUSTED_DOCUMENTS_POLL_MS: '200' },
      subgraphEnv: { GATEWAY_SECRET: productionSecret },
      onTrustedDocumentsUpdate: (u) => updates.push(u),
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  const waitForOutcome = (from: number, accepted: boolean) => waitForOutcomeIn(updates, from, accepted, 'manifest update');

  it('defaults to require in production and to allow elsewhere, and needs a manifest for either', () => {
    const base = { TRUSTED_DOCUMENTS_PATH: built } as const;
    expect(trustedDocumentsMode({ ...base, NODE_ENV: 'production', TRUSTED_DOCUMENTS: undefined })).toBe('require');
    expect(trustedDocumentsMode({ ...base, NODE_ENV: 'development', TRUSTED_DOCUMENTS: undefined })).toBe('allow');
    expect(trustedDocumentsMode({ ...base, NODE_ENV: 'test', TRUSTED_DOCUMENTS: undefined })).toBe('allow');
    expect(trustedDocumentsMode({ TRUSTED_DOCUMENTS_PATH: undefined, NODE_ENV: 'production', TRUSTED_DOCUMENTS: undefined })).toBe('off');
    expect(() => loadGatewayConfig({ TRUSTED_DOCUMENTS: 'require' })).toThrow(/TRUSTED_DOCUMENTS: require needs a manifest/);
  });

  it('runs a manifest document sent as its exact text, by documentId and by Apollo Client sha256Hash (POST and GET)', async () => {
    const byText = await stack.query(agents.text);
    expect(byText.errors).toBeUndefined();
    expect((byText.data?.agents as unknown[]).length).toBeGreaterThan(0);

    const byDocumentId = await post<{ agents: unknown[] }>(stack.gatewayUrl, { documentId: agents.id });
    expect(byDocumentId.errors).toBeUndefined();
    expect(byDocumentId.data?.agents).toEqual(byText.data?.agents);

    const byHash = await post<{ agents: unknown[] }>(stack.gatewayUrl, { extensions: { persistedQuery: { version: 1, sha256Hash: agents.hash } } });
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data?.agents).toEqual(byText.data?.agents);

    const search = new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: agents.hash } }) });
    const get = await fetch(`${stack.gatewayUrl}?${search}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { data: { agents: unknown[] } }).data.agents).toEqual(byText.data?.agents);
  });

  it('refuses an id that is not in the manifest with PERSISTED_QUERY_NOT_FOUND, before any subgraph is asked', async () => {
    const before = stack.subgraphFetches();
    const unknownId = await post(stack.gatewayUrl, { documentId: `sha256:${sha256('{ users(first: 100) { edges { node { email } } } }')}` });
    expect(unknownId.status).toBe(400);
    expect(codes(unknownId)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const unknownHash = await post(stack.gatewayUrl, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256(`{ me { email } } # ${randomUUID()}`) } } });
    expect(unknownHash.status).toBe(400);
    expect(codes(unknownHash)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(stack.subgraphFetches()).toBe(before);
  });

  it('refuses text that is not in the manifest with OPERATION_NOT_TRUSTED, without parsing it', async () => {
    const before = stack.subgraphFetches();
    for (const query of [
      '{ agents { id } }',
      `${agents.text} `, // a trusted document, changed by one space, is another document
      '{ me { email roles } }',
      'query { this is not GraphQL', // answered as untrusted, not as GRAPHQL_PARSE_FAILED: nothing parsed it
      `{ ${'__typename '.repeat(5_000)}}`, // over the token limit, never tokenised
    ]) {
      const response = await stack.query(query, {}, await token(['USER']));
      expect(response.status, query.slice(0, 40)).toBe(400);
      expect(codes(response), query.slice(0, 40)).toEqual(['OPERATION_NOT_TRUSTED']);
    }
    // Registering untrusted text as an automatic persisted query is the same request.
    const query = `{ me { id } } # ${randomUUID()}`;
    const extensions = { persistedQuery: { version: 1, sha256Hash: sha256(query) } };
    expect(codes(await post(stack.gatewayUrl, { query, extensions }))).toEqual(['OPERATION_NOT_TRUSTED']);
    expect(codes(await post(stack.gatewayUrl, { extensions }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(stack.subgraphFetches()).toBe(before);
  });

  it('lets a caller with a bypass role (ADMIN, by default) send any document', async () => {
    const query = '{ agents { id name } }';
    const admin = await stack.query(query, {}, await token(['USER', 'ADMIN']));
    expect(admin.errors).toBeUndefined();
    expect((admin.data?.agents as unknown[]).length).toBeGreaterThan(0);
    expect(codes(await stack.query(query, {}, await token(['USER'])))).toEqual(['OPERATION_NOT_TRUSTED']);
    expect(codes(await stack.query(query))).toEqual(['OPERATION_NOT_TRUSTED']);
    // The platform's services (the agent's knowledge search, the diagnosis saga) send their own documents.
    const service = await testServiceToken('agent', []);
    expect((await stack.query(query, {}, service)).errors).toBeUndefined();
    // A forged ADMIN token does not bypass: it is refused as a bad token.
    const forged = await stack.query(query, {}, await testToken({ id: randomUUID(), roles: ['ADMIN'] }, { key: signingKeyFromJwk(generateSigningJwk()) }));
    expect(forged.status).toBe(401);
    expect(codes(forged)).toEqual(['UNAUTHENTICATED']);
  });

  it('takes a new manifest published beside a release without a restart, and keeps the old one when the new one is invalid', async () => {
    const names = trustedOperationNames();
    expect([...names]).toEqual(expect.arrayContaining(['Home', 'Login', 'Refresh', 'SendMessage', 'StartConsultation', 'SubmitInquiry', 'CompleteConsultation']));
    expect(trustedDocumentIds()).toContain(agents.id);

    const added = 'query AgentNames { agents { id name } }';
    const addedId = `sha256:${sha256(added)}`;
    expect(codes(await post(stack.gatewayUrl, { documentId: addedId }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    const seen = updates.length;
    // The release's manifest is the union of the old one and the new documents: clients of both versions keep working.
    publish(manifestFile, { ...manifest, [addedId]: added });
    await waitForOutcome(seen, true);
    const byId = await post<{ agents: { id: string; name: string }[] }>(stack.gatewayUrl, { documentId: addedId });
    expect(byId.errors).toBeUndefined();
    expect(byId.data?.agents.length).toBeGreaterThan(0);
    expect(trustedOperationNames().has('AgentNames')).toBe(true);

    // A document edited after hashing: the whole manifest is refused, the previous one stays in force.
    const tampered = '{ users(first: 100) { edges { node { email } } } }';
    const rejectedFrom = updates.length;
    publish(manifestFile, { ...manifest, [addedId]: tampered });
    const rejected = await waitForOutcome(rejectedFrom, false);
    expect(rejected.error).toMatch(/not the sha256 of its document/);
    const still = await post<{ agents: unknown[] }>(stack.gatewayUrl, { documentId: addedId });
    expect(still.errors).toBeUndefined();
    expect(codes(await stack.query(tampered))).toEqual(['OPERATION_NOT_TRUSTED']);
  });
});

describe('operation-name metric labels follow the manifest', () => {
  let stack: Stack;
  let manifestFile: string;
  const manifest = builtManifest();

  beforeAll(async () => {
    manifestFile = path.join(mkdtempSync(path.join(tmpdir(), 'suoke-labels-')), 'persisted-documents.json');
    publish(manifestFile, manifest);
    // Development's `allow` mode: any text runs, and /metrics is served on the gateway's port.
    stack = await startStack({ gatewayEnv: { TRUSTED_DOCUMENTS: 'allow', TRUSTED_DOCUMENTS_PATH: manifestFile, TRUSTED_DOCUMENTS_POLL_MS: '200' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const labels = async () => {
    const text = await (await fetch(new URL('/metrics', stack.gatewayUrl))).text();
    return new Set([...text.matchAll(/suoke_graphql_requests_total\{[^}]*operation="([^"]*)"/g)].map((m) => m[1]));
  };

  it("labels the manifest's operations by name and a stranger's as (other), and learns the names of a new manifest", async () => {
    const agents = entry(manifest, 'Agents');
    expect((await post(stack.gatewayUrl, { documentId: agents.id })).errors).toBeUndefined();
    expect((await stack.query('query NotInAnyManifest { agents { id } }')).errors).toBeUndefined();
    let seen = await labels();
    expect(seen.has('Agents')).toBe(true);
    expect(seen.has('(other)')).toBe(true);
    expect(seen.has('NotInAnyManifest')).toBe(false);

    // A release adds an operation: its name becomes a label without a restart.
    const added = 'query NewInThisRelease { agents { id } }';
    publish(manifestFile, { ...manifest, [`sha256:${sha256(added)}`]: added });
    await expect.poll(async () => (await stack.query(added)).errors === undefined && (await labels()).has('NewInThisRelease'), { timeout: 10_000 }).toBe(true);
    seen = await labels();
    expect(seen.has('NotInAnyManifest')).toBe(false);
  });
});
