import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildClientSchema,
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  Lexer,
  Source,
  TokenKind,
  getIntrospectionQuery,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { randomClientIp, startStack, type Stack } from './harness.js';

/**
 * Property: whatever a client sends — real operations of the served schema
 * with tokens dropped, duplicated, swapped or replaced, variables of the
 * wrong type, huge numbers, unicode, deep nesting, odd body shapes — the
 * gateway answers below 500, stays up, and says nothing about how it is
 * built. Bounded by count (FUZZ_RUNS, default 1,500) so that CI stays fast;
 * FUZZ_SEED replays a failure fast-check reported.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1_500);
/**
 * A masked INTERNAL_SERVER_ERROR leaks nothing but means some service met input
 * it did not expect. Known causes (issue 8, "Errors"): strings with U+0000,
 * which PostgreSQL cannot store, reach the database (recordObservations'
 * externalId and source); and a subgraph's HTTP 400 for a variable it cannot
 * coerce (DateTime "", which the gateway passes as a custom scalar) arrives as
 * a failed fetch. Until they are fixed these are counted and reported, and
 * FUZZ_STRICT=1 fails (and shrinks) on the first.
 */
const STRICT = process.env.FUZZ_STRICT === '1';
/** Cases of the WebSocket fuzz (subscriptions through graphql-ws, and raw protocol frames). */
const WS_RUNS = Number(process.env.FUZZ_WS_RUNS ?? 300);

/** What must never reach a client, in any response. */
const LEAKS: [string, RegExp][] = [
  ['stack frame', /\bat (?:async )?[\w.<>$]+ \((?:file:|node:|\/)|node:internal|node_modules/],
  ['source path', /(?:\/[\w.-]+)+\.(?:ts|js|mjs|cjs):\d+/],
  ['serviceName', /serviceName/],
  ['internal URL', /127\.0\.0\.1|localhost:\d+|\/\/[a-z]+:400\d/],
];
/** What must never appear in an error: the database speaking. */
const SQL_LEAKS: [string, RegExp][] = [
  ['SQL', /\b(?:select|insert into|update|delete from)\b[^"]{0,80}\b(?:from|set|where|values)\b/i],
  ['database error', /violates|constraint|duplicate key|relation "|syntax error at or near|invalid input syntax|postgres|pglite|drizzle/i],
];

interface Operation {
  query: string;
  variables: { name: string; type: GraphQLInputType }[];
}

let stack: Stack;
let schema: GraphQLSchema;
let operations: Operation[];
let token: string;
let userId: string;

beforeAll(async () => {
  stack = await startStack();
  const introspection = await stack.query<IntrospectionQuery>(getIntrospectionQuery());
  schema = buildClientSchema(introspection.data!);
  operations = operationsOf(schema);
  const registered = await stack.query('mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }', {
    input: { email: 'fuzz@example.com', password: 'correct-horse-battery', displayName: 'Fuzz' },
  });
  expect(registered.errors).toBeUndefined();
  token = registered.data?.register.accessToken;
  userId = registered.data?.register.user.id;
  expect(token).toBeTruthy();
});
afterAll(async () => {
  await stack?.stop();
});

/** One operation per root field, each argument a variable, a few fields selected two levels down. */
function operationsOf(served: GraphQLSchema): Operation[] {
  const out: Operation[] = [];
  // Subscriptions too: over this POST the gateway refuses them with SUBSCRIPTION_TRANSPORT_REQUIRED, whatever else is wrong.
  const roots = [['query', served.getQueryType()], ['mutation', served.getMutationType()], ['subscription', served.getSubscriptionType()]] as const;
  for (const [keyword, root] of roots) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      const variables = field.args.map((arg) => ({ name: arg.name, type: arg.type }));
      const signature = variables.length ? `(${variables.map((v) => `$${v.name}: ${String(v.type)}`).join(', ')})` : '';
      const args = variables.length ? `(${variables.map((v) => `${v.name}: $${v.name}`).join(', ')})` : '';
      out.push({ query: `${keyword} Fuzz${signature} { ${field.name}${args}${selectionOf(getNamedType(field.type), 3)} }`, variables });
    }
  }
  return out;
}

function selectionOf(type: GraphQLNamedType, depth: number): string {
  if (isLeafType(type)) return '';
  if (isUnionType(type)) {
    return ` { __typename ${type.getTypes().map((member) => `... on ${member.name}${selectionOf(member, Math.min(depth, 1)) || ' { __typename }'}`).join(' ')} }`;
  }
  if (!isObjectType(type) && !isInterfaceType(type)) return '';
  const parts: string[] = [];
  let nested = 0;
  for (const field of Object.values(type.getFields())) {
    if (field.args.some((arg) => isNonNullType(arg.type))) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(field.name);
    else if (depth > 1 && nested < 3 && isCompositeType(named)) {
      const inner = selectionOf(named, depth - 1);
      if (inner) {
        parts.push(`${field.name}${inner}`);
        nested += 1;
      }
    }
  }
  return parts.length ? ` { ${parts.join(' ')} }` : ' { __typename }';
}

/** The document as source tokens, printed back one by one. */
function tokensOf(query: string): string[] {
  const lexer = new Lexer(new Source(query));
  const out: string[] = [];
  for (let t = lexer.advance(); t.kind !== TokenKind.EOF; t = lexer.advance()) {
    if (t.kind === TokenKind.NAME || t.kind === TokenKind.INT || t.kind === TokenKind.FLOAT) out.push(t.value);
    else if (t.kind === TokenKind.STRING) out.push(JSON.stringify(t.value));
    else if (t.kind === TokenKind.BLOCK_STRING) out.push(`"""${t.value}"""`);
    else out.push(t.kind);
  }
  return out;
}

const weirdStrings = fc.constantFrom('', ' ', '\u0000', '\ud800', '\udfff\ud800', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '索克生活', '‮reversed', 'a'.repeat(5000), '\\', '"', '{}', '[]', 'null', 'NaN', '1e309');
const hugeNumbers = fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, -(2 ** 53) - 1, 1e308, -1e308, 5e-324, -0, 0, 1.5, Number.MAX_SAFE_INTEGER);
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), weirdStrings);

/** Nested n deep: [[[…]]] or {"a":{"a":…}} — built iteratively, so any depth is cheap to make. */
const deepValue = fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean()).map(([depth, asList]) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = asList ? [value] : { a: value };
  return value;
});

const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    hugeNumbers,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.boolean(),
    fc.constant(null),
    deepValue,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Values of roughly the right type, so that operations get past validation into the subgraphs. */
function typedValue(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return typedValue(type.ofType, depth);
  const inner = ((): fc.Arbitrary<unknown> => {
    if (isListType(type)) return fc.array(typedValue(type.ofType, depth + 1), { maxLength: depth > 2 ? 0 : 3 });
    if (isEnumType(type)) return fc.constantFrom(...type.getValues().map((v) => v.name));
    if (isInputObjectType(type)) {
      const fields = Object.values(type.getFields());
      return fc.record(Object.fromEntries(fields.map((f) => [f.name, depth > 3 ? fc.constant(null) : typedValue(f.type, depth + 1)])));
    }
    switch (type.name) {
      case 'Int':
        return fc.oneof(fc.integer({ min: -5, max: 150 }), hugeNumbers);
      case 'Float':
        return fc.oneof(fc.double({ min: -10, max: 400, noNaN: true }), hugeNumbers);
      case 'Boolean':
        return fc.boolean();
      case 'ID':
        return fc.oneof(fc.uuid(), fc.constantFrom(userId, 'xiaoai', 'QI_DEFICIENCY', 'huangqi', 'not-an-id'), text);
      case 'DateTime':
        return fc.oneof(fc.date({ min: new Date('2000-01-01'), max: new Date(Date.now() + 86_400_000), noInvalidDate: true }).map((d) => d.toISOString()), text);
      default:
        return text;
    }
  })();
  return fc.option(inner, { nil: null, freq: 6 });
}

const mutation = fc.record({
  kind: fc.constantFrom('drop', 'duplicate', 'swap', 'insert', 'replace'),
  at: fc.nat(),
  other: fc.nat(),
  token: fc.oneof(
    fc.constantFrom('{', '}', '(', ')', '[', ']', ':', '$', '...', '@', '!', '=', '|', '&', 'query', 'mutation', 'subscription', 'fragment', 'on', 'null', 'true'),
    fc.constantFrom('__typename', '__schema { types { name } }', '_entities', '_service { sdl }', '@skip(if: true)', '@include(if: $x)', '@defer', '"\\u0000"', '"""block"""'),
    fc.constantFrom('1e309', '-0', '99999999999999999999999', '0x10', '1.', '"\\ud800"', '#', ','),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
  ),
});

function mutate(query: string, edits: { kind: string; at: number; other: number; token: string }[]): string {
  const tokens = tokensOf(query);
  for (const edit of edits) {
    if (tokens.length === 0) break;
    const i = edit.at % tokens.length;
    const j = edit.other % tokens.length;
    if (edit.kind === 'drop') tokens.splice(i, 1);
    else if (edit.kind === 'duplicate') tokens.splice(i, 0, tokens[i]!);
    else if (edit.kind === 'swap') [tokens[i], tokens[j]] = [tokens[j]!, tokens[i]!];
    else if (edit.kind === 'insert') tokens.splice(i, 0, edit.token);
    else tokens[i] = edit.token;
  }
  return tokens.join(' ');
}

interface Case {
  method: 'POST' | 'GET';
  body: unknown;
  auth: 'none' | 'user' | 'garbage';
}

// A bad token is refused before anything else (tests/identity.test.ts), so it gets a small share.
const auth = fc.oneof({ weight: 5, arbitrary: fc.constant<Case['auth']>('none') }, { weight: 4, arbitrary: fc.constant<Case['auth']>('user') }, { weight: 1, arbitrary: fc.constant<Case['auth']>('garbage') });

function cases(): fc.Arbitrary<Case> {
  const operation = fc.constantFrom(...operations);
  const variablesFor = (op: Operation) =>
    fc.oneof(
      fc.record(Object.fromEntries(op.variables.map((v) => [v.name, typedValue(v.type)]))),
      fc.dictionary(fc.constantFrom(...op.variables.map((v) => v.name), 'extra', '__proto__', 'constructor'), hostileValue, { maxKeys: 4 }),
    );
  const mutatedOperation = operation.chain((op) =>
    fc.record({
      // Unedited often enough to get past validation into planning and the subgraphs.
      query: fc.oneof(fc.constant(op.query), fc.array(mutation, { minLength: 1, maxLength: 4 }).map((edits) => mutate(op.query, edits))),
      variables: variablesFor(op),
    }),
  );
  const deepDocument = fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.constantFrom('selection', 'list', 'object')).map(([n, kind]) => {
    if (kind === 'selection') return { query: `{ ${'me { '.repeat(n)}id${' }'.repeat(n)} }` };
    if (kind === 'list') return { query: `{ search(query: "x", kinds: ${'['.repeat(n)}HERB${']'.repeat(n)}) { __typename } }` };
    return { query: `mutation { updateHealthProfile(input: ${'{ a: '.repeat(n)}1${' }'.repeat(n)}) { __typename } }` };
  });
  const oddBody = fc.oneof(
    fc.record({ query: hostileValue }),
    fc.record({ query: mutatedOperation.map((m) => m.query), variables: fc.oneof(text, fc.array(hostileValue), fc.integer()) }),
    fc.record({ query: mutatedOperation.map((m) => m.query), operationName: hostileValue }),
    fc.record({ extensions: fc.record({ persistedQuery: fc.record({ version: hostileValue, sha256Hash: hostileValue }) }) }),
    fc.array(fc.record({ query: text })),
    hostileValue,
  );
  const post = fc.oneof(
    { weight: 6, arbitrary: mutatedOperation },
    { weight: 1, arbitrary: deepDocument },
    { weight: 1, arbitrary: text.map((query) => ({ query })) },
    { weight: 2, arbitrary: oddBody },
  );
  return fc.oneof(
    { weight: 9, arbitrary: fc.record({ method: fc.constant<'POST'>('POST'), body: post, auth }) },
    { weight: 1, arbitrary: fc.record({ method: fc.constant<'GET'>('GET'), body: mutatedOperation, auth }) },
  );
}

function errorCodesOf(json: { errors?: { extensions?: { code?: string } }[] }): string[] {
  return (json.errors ?? []).map((e) => String(e.extensions?.code));
}

async function send(c: Case): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-forwarded-for': randomClientIp() };
  if (c.auth === 'user') headers.authorization = `Bearer ${token}`;
  if (c.auth === 'garbage') headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.e30.';
  let response: Response;
  if (c.method === 'GET') {
    const { query, variables } = c.body as { query: string; variables: unknown };
    const search = new URLSearchParams({ query, variables: JSON.stringify(variables ?? {}) });
    response = await fetch(`${stack.gatewayUrl}?${search}`, { headers: { ...headers, 'apollo-require-preflight': 'true' } });
  } else {
    response = await fetch(stack.gatewayUrl, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(c.body) ?? 'null' });
  }
  return { status: response.status, text: await response.text() };
}

describe('fuzzing the gateway', () => {
  it(
    `${RUNS} random and mutated requests: no 5xx, no crash, nothing internal in any response`,
    async () => {
      const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
      const statuses = new Map<number, number>();
      const errorCodes = new Map<string, number>();
      const unexpected = new Set<string>();
      let unexpectedCount = 0;
      await fc.assert(
        fc.asyncProperty(cases(), async (c) => {
          const { status, text } = await send(c);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          expect(status, text.slice(0, 300)).toBeLessThan(500);
          // Node's HTTP parser refuses a URL over its header limit before any of our code runs.
          if (status === 431 && c.method === 'GET' && text === '') return;
          for (const [what, pattern] of LEAKS) expect(text, what).not.toMatch(pattern);
          let json: { errors?: { message: string; extensions?: { code?: string } }[] };
          try {
            json = JSON.parse(text);
          } catch {
            throw new Error(`a non-JSON answer (${status}): ${text.slice(0, 200)}`);
          }
          for (const error of json.errors ?? []) {
            const code = String(error.extensions?.code);
            errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1);
            for (const [what, pattern] of SQL_LEAKS) expect(error.message, what).not.toMatch(pattern);
          }
          // Masked, so nothing leaked; but it is input some service did not expect (its log has the detail).
          // Counted, not failed, while known causes remain (see STRICT); FUZZ_STRICT=1 shrinks one to its input.
          if (errorCodesOf(json).includes('INTERNAL_SERVER_ERROR')) {
            if (STRICT) expect.fail(`an unexpected error (INTERNAL_SERVER_ERROR): ${text.slice(0, 300)}`);
            const body = c.body as { query?: unknown } | null;
            unexpected.add(typeof body?.query === 'string' ? (/\{\s*(\w+)/.exec(body.query)?.[1] ?? '?') : '?');
            unexpectedCount += 1;
          }
        }),
        { numRuns: RUNS, seed },
      );
      console.log(
        `fuzz: ${RUNS} cases; statuses ${JSON.stringify(Object.fromEntries(statuses))}; error codes ${JSON.stringify(Object.fromEntries(errorCodes))}; masked INTERNAL_SERVER_ERROR ${unexpectedCount} (${[...unexpected].join(', ')}); seed ${seed}`,
      );
      expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(RUNS);

      // Still up, and still serving.
      const ready = await fetch(stack.gatewayUrl.replace('/graphql', '/health/ready'));
      expect(ready.status).toBe(200);
      const me = await stack.query('{ me { id } }', {}, token);
      expect(me.data?.me.id).toBe(userId);
    },
    180_000,
  );
});

// ---------------------------------------------------------------------------
// Subscriptions over GraphQL over WebSocket (graphql-transport-ws) on the gateway's /graphql.

type WsCase =
  | { kind: 'subscribe'; auth: Case['auth']; query: string; variables: unknown }
  | { kind: 'frame'; init: unknown; frames: unknown[] };

/** Close codes that mean "the server failed", never an answer to bad input. */
const FAILURE_CLOSES = new Set([1011, 4500]);

function wsCases(): fc.Arbitrary<WsCase> {
  const subscriptions = operations.filter((op) => op.query.startsWith('subscription'));
  const operation = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...subscriptions) }, { weight: 1, arbitrary: fc.constantFrom(...operations) });
  const subscribeCase = operation.chain((op) =>
    fc.record({
      kind: fc.constant<'subscribe'>('subscribe'),
      auth,
      query: fc.oneof(fc.constant(op.query), fc.array(mutation, { minLength: 1, maxLength: 4 }).map((edits) => mutate(op.query, edits)), text),
      variables: fc.oneof(
        fc.record(Object.fromEntries(op.variables.map((v) => [v.name, typedValue(v.type)]))),
        fc.dictionary(fc.constantFrom(...op.variables.map((v) => v.name), 'extra', '__proto__'), hostileValue, { maxKeys: 3 }),
      ),
    }),
  );
  const message = fc.oneof(
    fc.record({ type: fc.constantFrom('subscribe', 'complete', 'ping', 'pong', 'connection_init', 'next', 'error', 'nope'), id: hostileValue, payload: hostileValue }),
    fc.record({ type: fc.constant('subscribe'), id: fc.uuid(), payload: fc.record({ query: fc.oneof(fc.constantFrom(...subscriptions.map((s) => s.query)), text), variables: hostileValue, extensions: hostileValue }) }),
    text.map((raw) => ({ raw })),
    hostileValue,
  );
  const frameCase = fc.record({
    kind: fc.constant<'frame'>('frame'),
    init: fc.oneof(fc.constant({ type: 'connection_init' }), fc.record({ type: fc.constant('connection_init'), payload: hostileValue }), hostileValue),
    frames: fc.array(message, { maxLength: 3 }),
  });
  return fc.oneof({ weight: 3, arbitrary: subscribeCase }, { weight: 1, arbitrary: frameCase });
}

describe('fuzzing the gateway over WebSocket', () => {
  it(
    `${WS_RUNS} random and mutated subscriptions and protocol frames: no server failure, no masked INTERNAL_SERVER_ERROR, nothing internal, still serving`,
    async () => {
      const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
      const url = stack.gatewayUrl.replace(/^http/, 'ws');
      const clients: Partial<Record<Case['auth'], Client>> = {};
      const closes: { code: number; reason: string }[] = [];
      const clientFor = (who: Case['auth']) =>
        (clients[who] ??= createClient({
          url,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          lazyCloseTimeout: 1_000,
          connectionParams: who === 'user' ? { authorization: `Bearer ${token}` } : who === 'garbage' ? { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } : {},
          on: { closed: (event) => closes.push({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
        }));
      const outcomes = new Map<string, number>();
      const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      const check = (what: string, texts: string[], codes: string[]) => {
        for (const t of texts) {
          for (const [name, pattern] of [...LEAKS, ...SQL_LEAKS]) expect(t, `${what}: ${name}`).not.toMatch(pattern);
        }
        expect(codes, `${what}: a masked INTERNAL_SERVER_ERROR`).not.toContain('INTERNAL_SERVER_ERROR');
        for (const c of codes) count(c);
      };
      await fc.assert(
        fc.asyncProperty(wsCases(), async (c) => {
          if (c.kind === 'subscribe') {
            const received: { errors?: { message: string; extensions?: { code?: string } }[] }[] = [];
            let failure: unknown;
            let ended = false;
            const before = closes.length;
            const stop = clientFor(c.auth).subscribe(
              { query: c.query, variables: c.variables as Record<string, unknown> },
              { next: (v) => received.push(v as never), error: (e) => ((failure = e), (ended = true)), complete: () => (ended = true) },
            );
            const deadline = Date.now() + 400;
            while (!ended && received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
            stop();
            const errors = [...received.flatMap((r) => r.errors ?? []), ...(Array.isArray(failure) ? (failure as { message: string; extensions?: { code?: string } }[]) : [])];
            const closed = closes.slice(before);
            for (const close of closed) expect(FAILURE_CLOSES.has(close.code), `closed ${close.code} ${close.reason}`).toBe(false);
            count(ended ? (closed.length ? `closed ${closed[0]!.code}` : 'ended') : received.length ? 'events' : 'open');
            check(c.query.slice(0, 60), [...errors.map((e) => e.message), ...closed.map((x) => x.reason), JSON.stringify(received)], errors.map((e) => String(e.extensions?.code)));
            return;
          }
          const socket = new WebSocket(url, 'graphql-transport-ws');
          const messages: string[] = [];
          const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
          socket.on('message', (data) => messages.push(data.toString()));
          socket.on('error', () => {});
          await new Promise<void>((resolve) => {
            socket.once('open', () => resolve());
            socket.once('close', () => resolve());
          });
          const send = (frame: unknown) => {
            if (socket.readyState !== WebSocket.OPEN) return;
            const raw = frame && typeof frame === 'object' && 'raw' in frame ? String((frame as { raw: unknown }).raw) : JSON.stringify(frame) ?? 'undefined';
            socket.send(raw);
          };
          send(c.init);
          for (const frame of c.frames) send(frame);
          const outcome = await Promise.race([closed, new Promise<undefined>((resolve) => setTimeout(resolve, 300))]);
          socket.terminate();
          if (outcome) expect(FAILURE_CLOSES.has(outcome.code), `closed ${outcome.code} ${outcome.reason}`).toBe(false);
          count(outcome ? `frame closed ${outcome.code}` : 'frame open');
          const codes = messages.flatMap((m) => {
            try {
              const parsed = JSON.parse(m) as { payload?: { extensions?: { code?: string } }[] | { errors?: { extensions?: { code?: string } }[] } };
              const list = Array.isArray(parsed.payload) ? parsed.payload : (parsed.payload?.errors ?? []);
              return list.map((e) => String(e.extensions?.code));
            } catch {
              return [`non-JSON message`];
            }
          });
          check('frames', [...messages, outcome?.reason ?? ''], codes);
        }),
        { numRuns: WS_RUNS, seed },
      );
      await Promise.all(Object.values(clients).map((client) => client!.dispose()));
      console.log(`fuzz over WebSocket: ${WS_RUNS} cases; outcomes and codes ${JSON.stringify(Object.fromEntries(outcomes))}; seed ${seed}`);
      // Still up, and still serving subscriptions and queries.
      const ready = await fetch(stack.gatewayUrl.replace('/graphql', '/health/ready'));
      expect(ready.status).toBe(200);
      const me = await stack.query('{ me { id } }', {}, token);
      expect(me.data?.me.id).toBe(userId);
    },
    180_000,
  );
});
