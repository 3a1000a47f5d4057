import { createLogger } from '@suoke/platform';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { cacheHint, clientErrorFromResponse, SuokeDataSource } from '../src/datasource.js';
import { BufferedResponse } from '../src/exchange.js';
import type { SubgraphClient } from '../src/fetcher.js';

const log = createLogger({ service: 'datasource-test', level: 'silent' });
const SUBGRAPH_URL = 'http://health-7.internal:4002/graphql';

/** A data source whose subgraph answers every fetch with `status` and `body`, as the fetcher hands it over. */
function answeredWith(status: number, body: string, contentType = 'application/json; charset=utf-8', observe?: (subgraph: string, seconds: number, outcome: string) => void) {
  const client = {
    fetcher: async () => new BufferedResponse(SUBGRAPH_URL, status, status === 400 ? 'Bad Request' : 'Status', new Map([['content-type', contentType]]), body),
  } as unknown as SubgraphClient;
  return new SuokeDataSource({ url: SUBGRAPH_URL, name: 'health', client, log, ...(observe ? { observe } : {}) });
}

function process(source: SuokeDataSource, query: string, variables: Record<string, unknown> = {}) {
  return source.process({
    kind: 'incoming operation',
    request: { query, variables },
    context: { requestId: 'r-1', clientIp: '127.0.0.1' },
    incomingRequestContext: {},
  } as never);
}

const RECORD = 'mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }';
// What Apollo Server 5 answers for a variable its custom scalar refuses.
const COERCION = {
  errors: [
    {
      message: 'Variable "$input" got invalid value "" at "input[0].recordedAt"; Expected type "DateTime". DateTime cannot represent an invalid date-time-string .',
      locations: [{ line: 1, column: 10 }],
      extensions: { code: 'BAD_USER_INPUT' },
    },
  ],
};

describe('SuokeDataSource: a subgraph 4xx answer', () => {
  it("hands the client the subgraph's BAD_USER_INPUT and message, on the fetch's field", async () => {
    const response = await process(answeredWith(400, JSON.stringify(COERCION)), RECORD, { input: [{ recordedAt: '' }] });
    expect(response.data).toBeUndefined();
    expect(response.errors).toEqual([{ message: COERCION.errors[0]!.message, extensions: { code: 'BAD_USER_INPUT' }, path: ['recordObservations'] }]);
  });

  it('counts a refusal as a fetch answered with errors, an unusable 4xx as a failed one (metrics)', async () => {
    const outcomes: string[] = [];
    const observe = (_subgraph: string, _seconds: number, outcome: string) => void outcomes.push(outcome);
    await process(answeredWith(400, JSON.stringify(COERCION), undefined, observe), RECORD);
    await process(answeredWith(400, '<html/>', 'text/html', observe), RECORD);
    await process(answeredWith(401, '{}', undefined, observe), RECORD);
    expect(outcomes).toEqual(['graphql_errors', 'failed', 'failed']);
  });

  it('keeps the input path (`field`) of a refusal and caps a very long message', async () => {
    const body = { errors: [{ message: `Text may not contain the NUL character (U+0000); ${'x'.repeat(2_000)}`, extensions: { code: 'BAD_USER_INPUT', field: 'input[0].source' } }] };
    const [error] = (await process(answeredWith(400, JSON.stringify(body)), RECORD)).errors!;
    expect(error!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input[0].source' });
    expect(error!.message.length).toBeLessThanOrEqual(501);
    expect(error!.message).toMatch(/^Text may not contain the NUL character/);
  });

  it.each([
    ['an HTML page', '<html><body>400 Bad Request at http://health-7.internal:4002</body></html>', 'text/html'],
    ['JSON that is no GraphQL response', '{"error":"bad","url":"http://health-7.internal:4002/graphql"}', undefined],
    ['a GraphQL error without a client code (the gateway is at fault)', JSON.stringify({ errors: [{ message: 'Cannot query field "x" on type "Query". at http://health-7.internal:4002', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] }), undefined],
    ['an internal error with a stack', JSON.stringify({ errors: [{ message: 'select * from health.observations failed', extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at db.ts:1'] } }] }), undefined],
    ['an empty error list', '{"errors":[]}', undefined],
    ['a message that is not a string', '{"errors":[{"message":{"sql":"select 1"},"extensions":{"code":"BAD_USER_INPUT"}}]}', undefined],
    ['an empty body', '', 'text/plain'],
  ])('%s: a generic INTERNAL_SERVER_ERROR, nothing of the body or the subgraph', async (_case, body, contentType) => {
    const response = await process(answeredWith(400, body, contentType), RECORD);
    expect(response.errors).toEqual([{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' }, path: ['recordObservations'] }]);
  });

  it('a 401 or 403 keeps its code with a generic message, whatever the body says', async () => {
    const guard = JSON.stringify({ errors: [{ message: 'This service accepts requests from the gateway only', extensions: { code: 'UNAUTHENTICATED' } }] });
    expect((await process(answeredWith(401, guard), '{ me { id } }')).errors).toEqual([
      { message: 'Authentication is required for this field', extensions: { code: 'UNAUTHENTICATED' }, path: ['me'] },
    ]);
    expect((await process(answeredWith(403, '<html/>', 'text/html'), '{ me { id } }')).errors![0]!.extensions).toEqual({ code: 'FORBIDDEN' });
  });
});

describe('SuokeDataSource: what a client operation sends', () => {
  it('sends the body and headers Apollo would, with the headers Apollo adds, and restricts the cache policy by the answer', async () => {
    const sent: { url: string; init: { method?: string; headers?: Record<string, string>; body?: unknown } }[] = [];
    const client = {
      fetcher: async (url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown }) => {
        sent.push({ url, init });
        return new BufferedResponse(SUBGRAPH_URL, 200, 'OK', new Map([['content-type', 'application/json'], ['cache-control', 'max-age=30, private']]), '{"data":{"ok":true}}');
      },
    } as unknown as SubgraphClient;
    const source = new SuokeDataSource({ url: SUBGRAPH_URL, name: 'health', client, log, gatewaySecret: 's3cret' });
    const hints: unknown[] = [];
    const response = await source.process({
      kind: 'incoming operation',
      request: { query: 'query Q($id: ID!) { user(id: $id) { id } }', variables: { id: 'u-1' }, operationName: 'Q', http: { headers: new Map([['apollo-federation-include-trace', 'ftv1']]) } },
      context: { requestId: 'r-1', clientIp: '10.0.0.9', authorization: 'Bearer t', rateBudget: undefined },
      incomingRequestContext: { overallCachePolicy: { restrict: (hint: unknown) => hints.push(hint) } },
    } as never);
    expect(response.data).toEqual({ ok: true });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(SUBGRAPH_URL);
    expect(sent[0]!.init.method).toBe('POST');
    expect(JSON.parse(sent[0]!.init.body as string)).toEqual({ query: 'query Q($id: ID!) { user(id: $id) { id } }', variables: { id: 'u-1' }, operationName: 'Q' });
    expect(sent[0]!.init.headers).toEqual({
      'apollo-federation-include-trace': 'ftv1',
      'content-type': 'application/json',
      'x-gateway-secret': 's3cret',
      'x-suoke-retry-safe': '1',
      authorization: 'Bearer t',
      'x-request-id': 'r-1',
      'x-suoke-client-ip': '10.0.0.9',
    });
    expect(hints).toEqual([{ maxAge: 30, scope: 'PRIVATE' }]);
  });

  it('marks only queries retry-safe', async () => {
    const headers: Record<string, string>[] = [];
    const client = {
      fetcher: async (_url: string, init: { headers: Record<string, string> }) => {
        headers.push(init.headers);
        return new BufferedResponse(SUBGRAPH_URL, 200, 'OK', new Map([['content-type', 'application/json']]), '{"data":{}}');
      },
    } as unknown as SubgraphClient;
    const source = new SuokeDataSource({ url: SUBGRAPH_URL, name: 'health', client, log });
    await process(source, '{ me { id } }');
    await process(source, RECORD);
    expect(headers.map((h) => h['x-suoke-retry-safe'])).toEqual(['1', undefined]);
    expect(headers[0]).not.toHaveProperty('x-gateway-secret');
  });
});

describe('cacheHint', () => {
  it('reads a Cache-Control header as Apollo does', () => {
    expect(cacheHint(null)).toEqual({ maxAge: 0 });
    expect(cacheHint('no-store')).toEqual({ maxAge: 0 });
    expect(cacheHint('public, max-age=60')).toEqual({ maxAge: 60, scope: 'PUBLIC' });
    expect(cacheHint('Max-Age=5 , PRIVATE')).toEqual({ maxAge: 5, scope: 'PRIVATE' });
    expect(cacheHint('max-age=1.5')).toEqual({ maxAge: 0 });
  });
});

describe('clientErrorFromResponse', () => {
  it('reads only 4xx answers', () => {
    const at = (status: number) => new GraphQLError(`${status}: x`, { extensions: { response: { status, body: COERCION } } });
    expect(clientErrorFromResponse(at(400))?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(clientErrorFromResponse(at(422))?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(clientErrorFromResponse(at(500))).toBeUndefined();
    expect(clientErrorFromResponse(at(302))).toBeUndefined();
    expect(clientErrorFromResponse(new Error('400'))).toBeUndefined();
    expect(clientErrorFromResponse(new GraphQLError('no response'))).toBeUndefined();
  });
});
