// Zero-downtime (issue 7): under a steady load loop owned by the test, (a) a
// supergraph adding a field is published and queries using it succeed within
// 5 s, and (b) one of two replicas of a subgraph is stopped and started again.
// Both with 0 failed requests; each prints its request and failure counts.
import { copyFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { loadLoop, repoRoot, startStack, type GraphQLResponse, type Stack } from './harness.js';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
/** user and health: the replicated subgraph is on the path of every request. */
const HOME = `query ReplicaHome { me { id displayName healthSummary(days: 7) { type count } } }`;
/** The field the published supergraph adds (served by the `wellness` subgraph deployed first). */
const WITH_NEW_FIELD = `query NewField { me { id greeting } }`;

/** A subgraph a team deploys before publishing the supergraph that routes to it. */
const WELLNESS_SDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])

"""
A person with a Suoke Life account; the wellness subgraph adds a greeting.
"""
type User @key(fields: "id") {
  """
  Stable identifier (UUID).
  """
  id: ID!
  """
  A short greeting for the home screen.
  """
  greeting: String!
}
`;

function failureOf(response: GraphQLResponse, check: (data: Record<string, any>) => boolean): string | undefined {
  if (response.status !== 200) return `status ${response.status}`;
  if (response.errors) return JSON.stringify(response.errors);
  return check(response.data ?? {}) ? undefined : `unexpected data ${JSON.stringify(response.data)}`;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The gateway's /metrics, line by line. */
async function scrape(stack: Stack): Promise<string[]> {
  return (await (await fetch(stack.gatewayUrl.replace(/\/graphql$/, '/metrics'))).text()).split('\n');
}

describe('zero downtime under a steady load', () => {
  let stack: Stack;
  let wellness: ApolloServer | undefined;
  let supergraphFile: string;
  let token: string;
  const updates: { accepted: boolean; error?: string; at: number }[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'suoke-replicas-'));
    supergraphFile = path.join(dir, 'supergraph.graphql');
    copyFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), supergraphFile);
    stack = await startStack({
      replicas: { health: 2 },
      // One user's steady load would trip the per-user rate limits, which are not what is tested here.
      gatewayEnv: { RATE_LIMITS: 'off', SUPERGRAPH_PATH: supergraphFile, SUBGRAPH_EJECT_MS: '500', SUBGRAPH_EJECT_MAX_MS: '2000', SUBGRAPH_READINESS_INTERVAL_MS: '1000' },
      subgraphEnv: { RATE_LIMITS: 'off' },
      onSupergraphUpdate: (u) => updates.push({ ...u, at: Date.now() }),
    });
    const registered = await stack.query(REGISTER, { input: { email: 'replica@example.com', password: 'correct-horse-battery-staple', displayName: 'R' } });
    expect(registered.errors).toBeUndefined();
    token = registered.data?.register.accessToken;
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await wellness?.stop();
  });

  it('(b) one of two replicas stopped and started again: 0 failed requests', async () => {
    const [first, second] = stack.instances.health!;
    const load = loadLoop({
      durationMs: 22_000,
      concurrency: 4,
      pauseMs: 10,
      send: async () => failureOf(await stack.query(HOME, {}, token), (d) => d.me?.id !== undefined && Array.isArray(d.me?.healthSummary)),
    });
    await delay(5_000);
    const beforeStop = { first: first!.requests(), second: second!.requests() };
    await second!.stop();
    await delay(7_000);
    const whileDown = { first: first!.requests() - beforeStop.first, second: second!.requests() - beforeStop.second };
    const instances = (await scrape(stack)).filter((l) => l.startsWith('suoke_subgraph_instances{') && l.includes('subgraph="health"'));
    expect(instances.find((l) => l.includes('state="ejected"'))).toMatch(/ 1$/);
    expect(instances.find((l) => l.includes('state="admitted"'))).toMatch(/ 1$/);
    await second!.start();
    const atRestart = second!.requests();
    const result = await load;
    const retries = (await scrape(stack)).filter((l) => l.startsWith('suoke_subgraph_fetch_retries_total{') && l.includes('subgraph="health"'));
    console.log(
      `replica stop/start: ${result.requests} requests, ${result.failures} failures; while one replica was down: ${whileDown.first} to the other, ${whileDown.second} to it; after its restart: ${second!.requests() - atRestart} to it; retries: ${retries.map((l) => l.replace(/^.*reason="([^"]+)".*\} /, '$1=')).join(', ') || 'none'}`,
    );
    expect(result.failed).toEqual([]);
    expect(result.failures).toBe(0);
    expect(result.requests).toBeGreaterThan(100);
    // The survivor carried the load, and the restarted replica was readmitted and served again.
    expect(whileDown.first).toBeGreaterThan(0);
    expect(second!.requests() - atRestart).toBeGreaterThan(0);
  }, 120_000);

  it('(a) a supergraph that adds a field is published: queries using it succeed within 5 s, 0 failed requests', async () => {
    // The team deploys its subgraph first: nothing routes to it yet.
    wellness = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(WELLNESS_SDL),
        resolvers: {
          User: {
            __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
            greeting: () => '早上好',
          },
        } as never,
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const { url: wellnessUrl } = await startStandaloneServer(wellness, { listen: { port: 0, host: '127.0.0.1' } });
    const sdlFile = path.join(path.dirname(supergraphFile), 'wellness.graphql');
    writeFileSync(sdlFile, WELLNESS_SDL);
    const composed = compose([...readSupergraphConfig().subgraphs, { name: 'wellness', routingUrl: wellnessUrl, schemaFile: sdlFile, port: 0 }]);
    expect(composed.errors).toBeUndefined();

    const newField = { requests: 0, failures: 0, failed: [] as string[] };
    let publishedAt = 0;
    let firstSuccess: number | undefined;
    let beforeAcceptance = 0;
    const load = loadLoop({
      durationMs: 22_000,
      concurrency: 2,
      pauseMs: 25,
      send: async () => failureOf(await stack.query(HOME, {}, token), (d) => d.me?.id !== undefined),
    });
    // From publication on, a caller asks for the new field until the end of the load.
    const prober = (async () => {
      while (publishedAt === 0) await delay(20);
      const end = publishedAt + 14_000;
      while (Date.now() < end) {
        const response = await stack.query(WITH_NEW_FIELD, {}, token);
        const problem = failureOf(response, (d) => d.me?.greeting === '早上好');
        if (firstSuccess === undefined) {
          if (problem === undefined) firstSuccess = Date.now() - publishedAt;
          else beforeAcceptance += 1;
        } else {
          newField.requests += 1;
          if (problem !== undefined) {
            newField.failures += 1;
            if (newField.failed.length < 10) newField.failed.push(problem);
          }
        }
        await delay(firstSuccess === undefined ? 50 : 10);
      }
    })();

    await delay(5_000);
    const seen = updates.length;
    // Published as the README says: written beside it, then renamed over it.
    writeFileSync(`${supergraphFile}.next`, composed.supergraphSdl!);
    renameSync(`${supergraphFile}.next`, supergraphFile);
    publishedAt = Date.now();
    const [result] = await Promise.all([load, prober]);
    const outcome = updates.slice(seen).find((u) => u.accepted !== undefined);
    console.log(
      `publish: steady load ${result.requests} requests, ${result.failures} failures; gateway accepted it ${outcome ? outcome.at - publishedAt : '-'} ms after publication; new field answered ${firstSuccess} ms after publication (${beforeAcceptance} earlier attempts refused as unknown), then ${newField.requests} requests, ${newField.failures} failures`,
    );
    expect(outcome).toMatchObject({ accepted: true });
    expect(result.failed).toEqual([]);
    expect(newField.failed).toEqual([]);
    expect(firstSuccess).toBeDefined();
    expect(firstSuccess!).toBeLessThan(5_000);
    expect(newField.requests).toBeGreaterThan(0);
  }, 120_000);
});
