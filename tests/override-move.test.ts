// Moving a field between subgraphs with @override(from:) (issue 22), as an
// ordinary independent deploy under a steady load loop owned by the test (in
// the style of replicas.test.ts "(a)"): two small subgraphs, `movea` and
// `moveb`, both able to resolve the test-only field User.wellnessScore. The new
// owner is deployed first; the supergraph composed with
// `@override(from: "movea")` on it is published by rename; each subgraph's own
// entity-request counter shows the traffic moving, and no request fails.
// Then progressive override (`label: "percent(50)"`): what the installed
// Apollo Gateway actually does with it.
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { loadLoop, repoRoot, startStack, waitForOutcome, type GraphQLResponse, type Stack } from './harness.js';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
const MOVING = `query WellnessScore { me { id wellnessScore } }`;
/** What both owners answer: a move changes who serves the field, never its value. */
const SCORE = 72;

/** A subgraph's SDL for User.wellnessScore, optionally with an @override directive's arguments; `null`: without the field. */
function sdl(owner: string, override?: string | null): string {
  const field = override === null ? '' : `  """
  A test-only score, 0–100, that moves between subgraphs.
  """
  wellnessScore: Int!${override ? ` @override(${override})` : ''}
`;
  return `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@override"])

"""
A person with a Suoke Life account; the ${owner} subgraph resolves their wellness score.
"""
type User @key(fields: "id") {
  """
  Stable identifier (UUID).
  """
  id: ID!
${field}}
`;
}

interface MoveSubgraph {
  name: string;
  url: string;
  /** Entity fetches (`_entities`) it has received, across deploys: the gateway asking it for wellnessScore. */
  entityRequests(): number;
  /** A new version of the subgraph on the same port (stop, then start with `typeDefs`), as a deploy does. */
  redeploy(typeDefs: string): Promise<void>;
  stop(): Promise<void>;
}

async function startMoveSubgraph(name: string, typeDefs: string): Promise<MoveSubgraph> {
  let entityRequests = 0;
  let server: ApolloServer;
  let port = 0;
  const start = async (sdl: string) => {
    const withField = /wellnessScore/.test(sdl);
    server = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(sdl),
        resolvers: { User: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }), ...(withField ? { wellnessScore: () => SCORE } : {}) } } as never,
      }),
      plugins: [
        ApolloServerPluginInlineTraceDisabled(),
        {
          async requestDidStart({ request }) {
            if (request.query?.includes('_entities')) entityRequests += 1;
          },
        },
      ],
    });
    const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
    port = Number(new URL(url).port);
    return url;
  };
  const url = await start(typeDefs);
  return {
    name,
    url,
    entityRequests: () => entityRequests,
    redeploy: async (sdl) => {
      await server.stop();
      await start(sdl);
    },
    stop: () => server.stop(),
  };
}

function failureOf(response: GraphQLResponse, check: (data: Record<string, any>) => boolean): string | undefined {
  if (response.status !== 200) return `status ${response.status}`;
  if (response.errors) return JSON.stringify(response.errors);
  return check(response.data ?? {}) ? undefined : `unexpected data ${JSON.stringify(response.data)}`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('moving a field between subgraphs with @override', () => {
  let dir: string;
  let supergraphFile: string;
  let stack: Stack;
  let movea: MoveSubgraph;
  let moveb: MoveSubgraph;
  let token: string;
  const updates: { accepted: boolean; error?: string; at: number }[] = [];

  /** The platform's subgraphs plus the two test subgraphs with the given SDL (a subgraph left out is not composed). */
  function composeWith(sdls: { movea?: string; moveb?: string }): string {
    const extra = Object.entries(sdls).map(([name, text]) => {
      const schemaFile = path.join(dir, `${name}-${Date.now()}.graphql`);
      writeFileSync(schemaFile, text!);
      return { name, routingUrl: (name === 'movea' ? movea : moveb).url, schemaFile, port: 0 };
    });
    const composed = compose([...readSupergraphConfig().subgraphs, ...extra]);
    expect(composed.errors).toBeUndefined();
    return composed.supergraphSdl!;
  }

  /** Published as the README says: written beside it, then renamed over it. */
  async function publish(supergraphSdl: string): Promise<number> {
    const seen = updates.length;
    writeFileSync(`${supergraphFile}.next`, supergraphSdl);
    renameSync(`${supergraphFile}.next`, supergraphFile);
    const publishedAt = Date.now();
    const outcome = await waitForOutcome(updates, seen, true, 'supergraph');
    return outcome.at - publishedAt;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'suoke-override-'));
    supergraphFile = path.join(dir, 'supergraph.graphql');
    // Both teams' subgraphs run before any supergraph routes to the new owner.
    movea = await startMoveSubgraph('movea', sdl('movea'));
    moveb = await startMoveSubgraph('moveb', sdl('moveb', 'from: "movea"'));
    writeFileSync(supergraphFile, composeWith({ movea: sdl('movea') }));
    stack = await startStack({
      // One user's steady load would trip the per-user rate limits, which are not what is tested here.
      gatewayEnv: { RATE_LIMITS: 'off', SUPERGRAPH_PATH: supergraphFile },
      subgraphEnv: { RATE_LIMITS: 'off' },
      onSupergraphUpdate: (u) => updates.push({ ...u, at: Date.now() }),
    });
    const registered = await stack.query(REGISTER, { input: { email: 'override@example.com', password: 'correct-horse-battery-staple', displayName: 'O' } });
    expect(registered.errors).toBeUndefined();
    token = registered.data?.register.accessToken;
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await movea?.stop();
    await moveb?.stop();
  });

  it('(a) @override(from: "movea") published under a steady load: the traffic moves to moveb, 0 failed requests', async () => {
    const load = loadLoop({
      durationMs: 14_000,
      concurrency: 3,
      pauseMs: 10,
      send: async () => failureOf(await stack.query(MOVING, {}, token), (d) => d.me?.id !== undefined && d.me?.wellnessScore === SCORE),
    });
    await delay(4_000);
    const before = { a: movea.entityRequests(), b: moveb.entityRequests() };
    const acceptedAfter = await publish(composeWith({ movea: sdl('movea'), moveb: sdl('moveb', 'from: "movea"') }));
    // A plan made just before the swap may still be executing; give it a moment to finish.
    await delay(500);
    const atSwap = { a: movea.entityRequests(), b: moveb.entityRequests() };
    const result = await load;
    const after = { a: movea.entityRequests() - atSwap.a, b: moveb.entityRequests() - atSwap.b };
    console.log(
      `override move: ${result.requests} requests, ${result.failures} failures; gateway accepted the supergraph ${acceptedAfter} ms after publication; entity fetches before: movea ${before.a}, moveb ${before.b}; during the swap: movea ${atSwap.a - before.a}, moveb ${atSwap.b - before.b}; after: movea ${after.a}, moveb ${after.b}`,
    );
    expect(result.failed).toEqual([]);
    expect(result.failures).toBe(0);
    expect(result.requests).toBeGreaterThan(100);
    // Before: only the old owner served it. After: only the new one.
    expect(before.a).toBeGreaterThan(20);
    expect(before.b).toBe(0);
    expect(after.a).toBe(0);
    expect(after.b).toBeGreaterThan(20);

    // The usage store shows the same move: which subgraph served User.wellnessScore, with counts and times.
    await stack.usage.flush();
    const served = await stack.usage.store!.subgraphs({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) }, 'User.wellnessScore');
    const row = (name: string) => served.find((r) => r.subgraph === name);
    console.log(`usage store, User.wellnessScore served by: ${served.map((r) => `${r.subgraph} ${r.count} (${r.firstSeen} … ${r.lastSeen})`).join('; ')}`);
    expect(served.map((r) => r.subgraph).sort()).toEqual(['movea', 'moveb']);
    // Every operation's plan is counted once per subgraph it asked for the field: the fetches each subgraph received.
    expect(row('movea')!.count).toBe(movea.entityRequests());
    expect(row('moveb')!.count).toBe(moveb.entityRequests());
    // The old owner's last use is before the new one's first plus the moment plans made before the swap took to finish.
    expect(Date.parse(row('movea')!.lastSeen)).toBeLessThan(Date.parse(row('moveb')!.firstSeen) + 500);
  }, 120_000);

  it('(b) the old owner deletes the field (a subgraph deploy, the supergraph unchanged), then the @override goes: 0 failed requests, all to moveb', async () => {
    // Once overridden, the old owner's field is not in the supergraph at all: deleting it changes nothing to publish.
    const published = readFileSync(supergraphFile, 'utf8');
    expect(composeWith({ movea: sdl('movea', null), moveb: sdl('moveb', 'from: "movea"') })).toBe(published);
    const load = loadLoop({
      durationMs: 8_000,
      concurrency: 2,
      pauseMs: 10,
      send: async () => failureOf(await stack.query(MOVING, {}, token), (d) => d.me?.wellnessScore === SCORE),
    });
    await delay(1_500);
    const at = { a: movea.entityRequests(), b: moveb.entityRequests() };
    await movea.redeploy(sdl('movea', null));
    // The new owner's next deploy drops the directive; that supergraph differs (no override left), and is published.
    const withoutOverride = composeWith({ movea: sdl('movea', null), moveb: sdl('moveb') });
    expect(withoutOverride).not.toBe(published);
    await publish(withoutOverride);
    const result = await load;
    const served = { a: movea.entityRequests() - at.a, b: moveb.entityRequests() - at.b };
    console.log(`override cleanup: ${result.requests} requests, ${result.failures} failures; entity fetches meanwhile: movea ${served.a}, moveb ${served.b}`);
    expect(result.failed).toEqual([]);
    expect(result.requests).toBeGreaterThan(50);
    expect(served).toEqual({ a: 0, b: expect.any(Number) });
    expect(served.b).toBeGreaterThan(20);
  }, 60_000);

  it('(c) progressive override: Apollo Gateway 2.14.4 does not plan labels; percent(50) sends every request to the `from` subgraph', async () => {
    const gatewayVersion = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/@apollo/gateway/package.json'), 'utf8')).version;
    // Moving back, progressively: movea (deployed first, with the field) takes it from moveb for "50%" of requests.
    await movea.redeploy(sdl('movea', 'from: "moveb", label: "percent(50)"'));
    const supergraphSdl = composeWith({ movea: sdl('movea', 'from: "moveb", label: "percent(50)"'), moveb: sdl('moveb') });
    expect(supergraphSdl).toMatch(/@join__field\(graph: MOVEA, override: "moveb", overrideLabel: "percent\(50\)"\)/);
    await publish(supergraphSdl);
    await delay(500);
    const start = { a: movea.entityRequests(), b: moveb.entityRequests() };
    const n = 200;
    let failures = 0;
    for (let i = 0; i < n; i += 1) {
      if (failureOf(await stack.query(MOVING, {}, token), (d) => d.me?.wellnessScore === SCORE) !== undefined) failures += 1;
    }
    const served = { a: movea.entityRequests() - start.a, b: moveb.entityRequests() - start.b };
    console.log(`progressive override on @apollo/gateway ${gatewayVersion}: ${n} requests, ${failures} failures; percent(50) to movea: ${served.a}, to the from subgraph moveb: ${served.b}`);
    expect(failures).toBe(0);
    // If this fails after an upgrade, the gateway now plans override labels: support and test the split, and fix the README.
    expect({ version: gatewayVersion, movea: served.a, moveb: served.b }).toEqual({ version: '2.14.4', movea: 0, moveb: n });
  }, 60_000);
});
