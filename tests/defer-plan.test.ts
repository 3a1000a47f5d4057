import { buildOperationContext, executeQueryPlan } from '@apollo/gateway';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { parse, print, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { partDocument } from '../gateway/src/defer/execute.js';
import { acceptsDeferSpec, withoutDefer } from '../gateway/src/defer/index.js';
import { DeferPlanner, deferPlanOf, withDefer } from '../gateway/src/defer/plan.js';
import { composeTestSupergraph, EVENTS_SDL, EXTRAS_SDL } from './live-fixtures.js';

/**
 * @defer stands on the planner's DeferNode (with incremental delivery on) and
 * on executeQueryPlan's refusal of it. The adapter (defer/plan.ts) is the only
 * code that knows the node's shape; an upgrade that changes it fails here.
 */
const sdl = composeTestSupergraph([
  { name: 'events', url: 'http://events.invalid/graphql', typeDefs: parse(EVENTS_SDL) },
  { name: 'extras', url: 'http://extras.invalid/graphql', typeDefs: parse(EXTRAS_SDL) },
]);
const apiSchema = withDefer(Supergraph.build(sdl).apiSchema().toGraphQLJSSchema());

function planOf(source: string, variables: Record<string, unknown> = {}) {
  const planner = new DeferPlanner();
  planner.update(sdl);
  const schema = planner.current()!;
  const document = parse(source);
  expect(validate(apiSchema, document)).toEqual([]);
  const raw = planner.plan(schema, document, source, undefined);
  return { schema, raw, plan: deferPlanOf(raw, variables) };
}

describe('the query planner as @defer uses it (@apollo/query-planner 2.14, incrementalDelivery.enableDefer)', () => {
  it('plans a deferred fragment as Defer { primary, deferred: [{ queryPath, label, subselection, node }] }', () => {
    const { raw, plan } = planOf('{ thing(id: "1") { name ... @defer(label: "later") { extra } } }');
    expect(raw.node?.kind).toBe('Defer');
    // The planner prints the ID literal as 1: still a valid ID, and only response names and directives shape a part.
    expect(plan?.primary).toMatchObject({ subselection: '{ thing(id: 1) { name } }', node: { kind: 'Fetch', serviceName: 'events', id: '0' } });
    expect(plan?.deferred).toEqual([
      {
        label: 'later',
        queryPath: ['thing'],
        subselection: '{ extra }',
        node: { kind: 'Flatten', path: ['thing'], node: expect.objectContaining({ kind: 'Fetch', serviceName: 'extras', requires: expect.any(Array) }) },
        children: [],
      },
    ]);
  });

  it('nests a deferred fragment inside another as a Defer node in the outer one', () => {
    const { plan } = planOf('{ thing(id: "1") { id ... @defer(label: "outer") { extra ... @defer(label: "inner") { name } } } }');
    expect(plan?.deferred).toHaveLength(1);
    const outer = plan!.deferred[0]!;
    expect(outer).toMatchObject({ label: 'outer', queryPath: ['thing'], subselection: '{ extra }', node: { kind: 'Flatten' } });
    expect(outer.children).toEqual([expect.objectContaining({ label: 'inner', queryPath: ['thing'], subselection: '{ name }', children: [] })]);
  });

  it('decides @defer(if: $v) by the variable (a Condition node), and a plan without Defer is no deferred plan', () => {
    const source = 'query($d: Boolean!) { thing(id: "1") { name ... @defer(if: $d) { extra } } }';
    expect(planOf(source).raw.node?.kind).toBe('Condition');
    expect(planOf(source, { d: true }).plan?.deferred).toHaveLength(1);
    expect(planOf(source, { d: false }).plan).toBeUndefined();
    expect(planOf('{ thing(id: "1") { name extra } }').plan).toBeUndefined();
  });

  it('leaves out the primary subselection when every field is deferred', () => {
    expect(planOf('{ ... @defer(label: "all") { thing(id: "1") { name } } }').plan).toMatchObject({
      primary: { subselection: undefined, node: undefined },
      deferred: [{ label: 'all', queryPath: [], subselection: '{ thing(id: 1) { name } }' }],
    });
    expect(planOf('{ thing(id: "1") { ... @defer { name } ... @defer { extra } } }').plan?.primary).toMatchObject({ subselection: undefined, node: { kind: 'Fetch' } });
  });

  it('refuses, by name, a Defer node of another shape', () => {
    const { raw } = planOf('{ thing(id: "1") { name ... @defer { extra } } }');
    const changed = { ...raw, node: { ...raw.node, deferred: [{ path: 'thing', node: undefined }] } } as never;
    expect(() => deferPlanOf(changed)).toThrow(/@apollo\/query-planner: expected a DeferredNode/);
    const buried = { kind: 'QueryPlan', node: { kind: 'Sequence', nodes: [raw.node] } } as never;
    expect(() => deferPlanOf(buried)).toThrow(/@apollo\/query-planner: expected Defer nodes only at the top/);
  });

  it('executeQueryPlan still refuses a Defer node (why deferred parts run one by one)', async () => {
    const document = parse('{ thing(id: "1") { name ... @defer { extra } } }');
    const { raw, schema } = planOf(print(document));
    const operationContext = buildOperationContext({ schema: apiSchema, operationDocument: document });
    const requestContext = { request: { variables: {} }, context: {}, metrics: {} } as never;
    const sources = { events: { process: async () => ({ data: { thing: { __typename: 'Thing', id: '1', name: 'a' } } }) } };
    await expect(executeQueryPlan(raw, sources, requestContext, operationContext, schema.supergraphSchema, schema.plannerApiSchema)).rejects.toThrow(
      '@defer support is not available in the gateway',
    );
  });

  it('shapes a part by the client\'s path (aliases, arguments) and the part\'s own selection', () => {
    const document = parse('query Q($id: ID!) { t: thing(id: $id) { ...F } } fragment F on Thing { name ... @defer { extra } }');
    const operation = document.definitions[0] as never;
    expect(print(partDocument(document, operation, ['t'], '{ extra }'))).toBe('query Q($id: ID!) {\n  t: thing(id: $id) {\n    extra\n  }\n}');
    expect(operationFromDocument(Supergraph.build(sdl).apiSchema(), partDocument(document, operation, ['t'], '{ extra }'), { validate: false })).toBeDefined();
  });
});

describe('negotiation', () => {
  it('answers in parts only to a client that accepts deferSpec=20220824', () => {
    expect(acceptsDeferSpec('multipart/mixed;deferSpec=20220824,application/json')).toBe(true);
    expect(acceptsDeferSpec('multipart/mixed; deferSpec=20220824')).toBe(true);
    expect(acceptsDeferSpec('application/json')).toBe(false);
    expect(acceptsDeferSpec('multipart/mixed')).toBe(false);
    expect(acceptsDeferSpec('multipart/mixed;incrementalSpec=v0.2')).toBe(false);
    expect(acceptsDeferSpec(undefined)).toBe(false);
  });

  it('drops @defer for a client that reads one result', () => {
    expect(print(withoutDefer(parse('{ thing(id: "1") { name ... @defer(label: "x") { extra } } }')))).toBe('{\n  thing(id: "1") {\n    name\n    ... {\n      extra\n    }\n  }\n}');
  });
});
