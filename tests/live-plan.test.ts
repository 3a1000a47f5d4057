import { buildOperationContext, executeQueryPlan } from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { cachedOperation, cacheOperation, LivePlanner, OPERATION_CACHE_SIZE, operationContextOf, operationKey, subscriptionPlanOf, type LiveSchema } from '../gateway/src/live/plan.js';
import { composeTestSupergraph, EVENTS_SDL, EXTRAS_SDL } from './live-fixtures.js';

/**
 * The live path stands on three public APIs whose behaviour it assumes: the
 * planner's SubscriptionNode, executeQueryPlan's refusal of it, and
 * buildOperationContext. An upgrade that changes any of them fails here, by
 * name, before anything streams wrongly.
 */
const sdl = composeTestSupergraph([
  { name: 'events', url: 'http://events.invalid/graphql', typeDefs: parse(EVENTS_SDL) },
  { name: 'extras', url: 'http://extras.invalid/graphql', typeDefs: parse(EXTRAS_SDL) },
]);
const apiSchema = Supergraph.build(sdl).apiSchema().toGraphQLJSSchema();

function planFor(source: string) {
  const planner = new LivePlanner();
  planner.update({ apiSchema, coreSupergraphSdl: sdl });
  const schema = planner.current()!;
  return { schema, plan: planner.plan(schema, sharedOf(schema, source)) };
}

function sharedOf(schema: LiveSchema, source: string, operationName?: string) {
  const document = parse(source);
  return { source, operationName, document, operation: getOperationAST(document, operationName)! };
}

describe('the query planner as the live path uses it (@apollo/query-planner 2.14)', () => {
  it('plans a subscription as a primary fetch on the owning subgraph and the rest on the others', () => {
    const { plan } = planFor('subscription { tick(channel: "a") { id name extra } }');
    expect(plan.primary).toMatchObject({ kind: 'Fetch', serviceName: 'events', operationKind: 'subscription' });
    expect(plan.primary.operation).toBe('subscription{tick(channel:"a"){__typename id name}}');
    expect(plan.primary.requires).toBeUndefined();
    expect(plan.rest).toMatchObject({ kind: 'Sequence', nodes: [{ kind: 'Flatten', path: ['tick'], node: { kind: 'Fetch', serviceName: 'extras', operationKind: 'query' } }] });
    expect(plan.eventPlan).toEqual({ kind: 'QueryPlan', node: { kind: 'Sequence', nodes: [plan.primary, plan.rest] } });
  });

  it('keeps one parsed operation, plan and operation context per operation text and name, bounded', () => {
    const planner = new LivePlanner();
    planner.update({ apiSchema, coreSupergraphSdl: sdl });
    const schema = planner.current()!;
    const source = 'subscription Tick { tick(channel: "a") { id } }';
    const key = operationKey(source, 'Tick');
    expect(operationKey(source, undefined)).not.toBe(key);
    expect(cachedOperation(schema, key, source, 'Tick')).toBeUndefined();
    const shared = cacheOperation(schema, key, sharedOf(schema, source, 'Tick'));
    // The same text in another string (as each client sends it) finds the same entry, planned and contextualised once.
    const again = cachedOperation(schema, operationKey(`${source} `.trimEnd(), 'Tick'), `${source} `.trimEnd(), 'Tick');
    expect(again).toBe(shared);
    expect(planner.plan(schema, again!)).toBe(planner.plan(schema, shared));
    expect(operationContextOf(schema, again!)).toBe(operationContextOf(schema, shared));
    expect(cachedOperation(schema, key, source, undefined)).toBeUndefined();
    for (let i = 0; i < OPERATION_CACHE_SIZE; i += 1) {
      const text = `subscription T${i} { tick(channel: "${i}") { id } }`;
      cacheOperation(schema, operationKey(text, undefined), sharedOf(schema, text));
    }
    expect(schema.operations.size).toBe(OPERATION_CACHE_SIZE);
    expect(cachedOperation(schema, key, source, 'Tick')).toBeUndefined();
    // A new supergraph version starts empty.
    planner.update({ apiSchema, coreSupergraphSdl: `${sdl}\n` });
    expect(planner.current()!.operations.size).toBe(0);
  });

  it('a subscription answered by its own subgraph alone has no rest', () => {
    const { plan } = planFor('subscription { tick(channel: "a") { id name } }');
    expect(plan.rest).toBeUndefined();
    expect(plan.eventPlan).toEqual({ kind: 'QueryPlan', node: plan.primary });
  });

  it('refuses, by name, a plan of another shape', () => {
    const planner = new LivePlanner();
    planner.update({ apiSchema, coreSupergraphSdl: sdl });
    const schema = planner.current()!;
    // A query's plan where a subscription's is expected: what a changed planner would hand over.
    const query = schema.planner.buildQueryPlan(operationFromDocument(schema.plannerApiSchema, parse('{ thing(id: "1") { id extra } }')));
    expect(() => subscriptionPlanOf(query)).toThrow(/@apollo\/query-planner: expected a subscription plan/);
  });

  it('executeQueryPlan still refuses a Subscription node (why events run as primary + rest)', async () => {
    const { schema } = planFor('subscription { tick(channel: "a") { id } }');
    const document = parse('subscription { tick(channel: "a") { id } }');
    const plan = schema.planner.buildQueryPlan(operationFromDocument(schema.plannerApiSchema, document));
    expect(plan.node?.kind).toBe('Subscription');
    const operationContext = buildOperationContext({ schema: apiSchema, operationDocument: document });
    const requestContext = { request: { variables: {} }, context: {}, metrics: {} } as never;
    await expect(executeQueryPlan(plan, {}, requestContext, operationContext, schema.supergraphSchema, schema.plannerApiSchema)).rejects.toThrow(
      'Execution of subscriptions not supported by gateway',
    );
  });
});
