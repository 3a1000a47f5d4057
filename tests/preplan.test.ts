import { copyFileSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compose, readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { codes, repoRoot, startStack, type Stack, waitForOutcome as waitForOutcomeIn } from './harness.js';

/**
 * Pre-planning before a supergraph swap (gateway/src/plan-cache.ts): the most
 * used operations are planned against the new supergraph before it is swapped
 * in, so the first requests after the swap build no plan. Observed through the
 * plan store's counter of plans Apollo Gateway built on a request (a store miss).
 */
describe('supergraph swap with pre-planning', () => {
  let stack: Stack;
  let supergraphFile: string;
  const updates: { accepted: boolean; error?: string }[] = [];
  const { subgraphs } = readSupergraphConfig();
  const userSdl = readFileSync(subgraphs.find((s) => s.name === 'user')!.schemaFile, 'utf8');

  /** Composes with the user subgraph changed by `edit`, and publishes it as the README says (write beside, rename over). */
  async function publish(edit: (sdl: string) => string): Promise<void> {
    const composed = compose(subgraphs, { user: edit(userSdl) });
    expect(composed.errors).toBeUndefined();
    const seen = updates.length;
    writeFileSync(`${supergraphFile}.next`, composed.supergraphSdl!);
    renameSync(`${supergraphFile}.next`, supergraphFile);
    await waitForOutcomeIn(updates, seen, true, 'supergraph update');
  }
  const withNickname = (sdl: string) =>
    sdl.replace('type User @key(fields: "id") {', 'type User @key(fields: "id") {\n  """\n  A field added by the pre-planning test.\n  """\n  nickname: String');
  /** The same schema with one description changed: a semantically equal supergraph with another hash. */
  const redescribed = (words: string) => (sdl: string) => sdl.replace('Stable identifier (UUID).', `Stable identifier (UUID), ${words}.`);

  const HOME = 'query Home { me { id displayName } constitutions { code name } }';
  const NICK = 'query Nick { me { nickname } }';

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'suoke-preplan-'));
    supergraphFile = path.join(dir, 'supergraph.graphql');
    copyFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), supergraphFile);
    stack = await startStack({ gatewayEnv: { SUPERGRAPH_PATH: supergraphFile }, onSupergraphUpdate: (u) => updates.push(u) });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the most used operations after a swap without planning them again; one the new supergraph rejects is skipped, not a reason to refuse it', async () => {
    await publish(withNickname);
    for (let i = 0; i < 3; i += 1) expect((await stack.query(HOME)).errors).toBeUndefined();
    // Planned and run against this supergraph (the user subgraph itself has no resolver for the field: not a validation error).
    expect(codes(await stack.query(NICK))).not.toContain('GRAPHQL_VALIDATION_FAILED');
    const plannedBefore = stack.planCache.stats.plannedOnRequest;
    const adoptedBefore = stack.planCache.stats.adoptedSwaps;

    // Without `nickname`: NICK is invalid against the new supergraph.
    await publish(redescribed('first change'));
    expect(stack.planCache.stats.adoptedSwaps).toBe(adoptedBefore + 1);
    expect(stack.planCache.stats.lastPreplan).toMatchObject({ planned: 1, invalid: 1 });

    const home = await stack.query(HOME);
    expect(home.errors).toBeUndefined();
    expect(home.data?.constitutions.length).toBe(9);
    expect(stack.planCache.stats.plannedOnRequest, 'Home was planned again after the swap').toBe(plannedBefore);
    // The new supergraph is the one serving: the removed field is refused by validation.
    expect(codes(await stack.query(NICK))).toEqual(['GRAPHQL_VALIDATION_FAILED']);

    // An operation never seen before is planned on its first request, as without pre-planning.
    expect((await stack.query('query Other { constitutions { code } }')).errors).toBeUndefined();
    expect(stack.planCache.stats.plannedOnRequest).toBe(plannedBefore + 1);
  });

  it('swaps when pre-planning fails, and plans on the first requests instead', async () => {
    expect((await stack.query(HOME)).errors).toBeUndefined();
    const prepare = vi.spyOn(stack.planCache, 'prepare').mockRejectedValueOnce(new Error('planner exploded'));
    const plannedBefore = stack.planCache.stats.plannedOnRequest;
    const adoptedBefore = stack.planCache.stats.adoptedSwaps;
    let calls: number;
    try {
      await publish((sdl) => redescribed('second change')(withNickname(sdl)));
    } finally {
      calls = prepare.mock.calls.length;
      prepare.mockRestore();
    }
    expect(calls).toBe(1);
    expect(stack.planCache.stats.adoptedSwaps).toBe(adoptedBefore);
    // The new supergraph serves (nickname is back: no validation error), and Home is planned on its first request after the swap.
    expect(codes(await stack.query(NICK))).not.toContain('GRAPHQL_VALIDATION_FAILED');
    expect((await stack.query(HOME)).errors).toBeUndefined();
    expect(stack.planCache.stats.plannedOnRequest).toBe(plannedBefore + 2);
  });
});
