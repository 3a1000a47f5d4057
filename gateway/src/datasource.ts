import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GATEWAY_SECRET_HEADER, rateLimitHeaders, SESSION_ENDED_HEADER, type Logger } from '@suoke/platform';
import { GraphQLError } from 'graphql';
import type { GatewayContext } from './context.js';
import { fetchShape, missingFieldErrors } from './fetch-shape.js';
import { RETRY_SAFE_HEADER, SubgraphFetchError, type SubgraphClient } from './fetcher.js';
import type { FetchObserver } from './metrics.js';

/**
 * The code of a field left out because its subgraph could not answer (timeout,
 * unreachable, breaker open, overloaded, 5xx). The message says no more than
 * that; the reason, subgraph and instance are logged with the request id.
 */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';
const UNAVAILABLE_MESSAGE = 'A service this field depends on is unavailable; try again later';

type ProcessResult = ReturnType<RemoteGraphQLDataSource['process']>;

/**
 * Subgraph fetches carry the caller's own token (subgraphs verify it again;
 * no bare identity header is ever sent), the request id, and the gateway's
 * shared secret when one is configured. The W3C `traceparent` header is added
 * by the undici instrumentation, from the active `gateway.fetch` span.
 *
 * With a `client` (fetcher.ts) the fetch is balanced over the subgraph's
 * instances, bounded in time and in flight, and guarded by a circuit breaker.
 * A fetch that fails becomes a response carrying one error per missing field,
 * with its path, so that the client gets every healthy field and knows which
 * ones are missing.
 */
export class SuokeDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly gatewaySecret: string | undefined;
  private readonly subgraph: string;
  private readonly observe: FetchObserver | undefined;
  private readonly log: Logger | undefined;
  private readonly markRetrySafe: boolean;
  private readonly onSessionsEnded: ((header: string) => void) | undefined;

  constructor(config: {
    url: string;
    name?: string;
    gatewaySecret?: string | undefined;
    observe?: FetchObserver;
    client?: SubgraphClient;
    log?: Logger;
    /** Set for the subgraph that ends sessions: given the sessions its answers name as ended (SESSION_ENDED_HEADER). */
    onSessionsEnded?: ((header: string) => void) | undefined;
  }) {
    super(config.client ? { url: config.url, fetcher: config.client.fetcher } : { url: config.url });
    this.gatewaySecret = config.gatewaySecret;
    this.subgraph = config.name ?? config.url;
    this.observe = config.observe;
    this.log = config.log;
    // The marker is for our fetcher, which removes it; never put it on the wire.
    this.markRetrySafe = Boolean(config.client);
    this.onSessionsEnded = config.onSessionsEnded;
  }

  /**
   * A client operation's fetch, as Apollo's process sends it (the same body,
   * headers and answer, the subgraph's cache-control header restricting the
   * operation's cache policy) without node-fetch: Apollo builds a node-fetch
   * Headers and, in sendRequest, a Request per fetch, and reading the headers
   * back sorts them; that was 4 % of the gateway's busy time on `me` (bench/RESULTS.md,
   * Tuning). Health checks and schema loading still go through Apollo's process.
   * What it mirrors of Apollo's is checked by gatewaySeams.apolloProcess (seams.ts).
   */
  private async fetchOperation(options: GraphQLDataSourceProcessOptions<GatewayContext>): ProcessResult {
    const { request } = options;
    // A client operation's fetch always has the request's context (context.ts).
    const context = options.context as GatewayContext;
    if (!request.query) throw new Error('Missing query');
    const { http, ...body } = request;
    const headers: Record<string, string> = {};
    // Apollo's own, e.g. `apollo-federation-include-trace` when Sandbox asks for the query plan's timings.
    if (http?.headers) for (const [name, value] of http.headers) headers[name] = value;
    this.headersFor(request.query, context, headers);
    const response = await this.fetcher(this.url!, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!response.ok) throw await this.errorFromResponse(response);
    const ended = this.onSessionsEnded ? response.headers.get(SESSION_ENDED_HEADER) : null;
    if (ended) this.onSessionsEnded!(ended);
    const parsed = await this.parseBody(response, undefined, context);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`Expected JSON response body, but received: ${String(parsed)}`);
    const policy = options.kind === 'incoming operation' ? options.incomingRequestContext.overallCachePolicy : undefined;
    if (this.honorSubgraphCacheControlHeader && policy && 'restrict' in policy) policy.restrict(cacheHint(response.headers.get('cache-control')));
    return { ...(parsed as object), http: response } as Awaited<ProcessResult>;
  }

  /** What every fetch carries besides its body, by lower-case name, set on `headers` (over what it holds). */
  private headersFor(query: string, context: GatewayContext | Record<string, unknown>, headers: Record<string, string> = {}): Record<string, string> {
    headers['content-type'] = 'application/json';
    if (this.gatewaySecret) headers[GATEWAY_SECRET_HEADER] = this.gatewaySecret;
    // Only a query may be sent twice (to another instance, when the first could not take it).
    if (this.markRetrySafe && fetchShape(query).operation === 'query') headers[RETRY_SAFE_HEADER] = '1';
    // Health checks and schema loading run without a request context.
    if (!isRequestContext(context)) return headers;
    if (context.authorization) headers.authorization = context.authorization;
    headers['x-request-id'] = context.requestId;
    // Subgraphs believe these only alongside the secret.
    if (this.gatewaySecret) Object.assign(headers, rateLimitHeaders(context));
    return headers;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    for (const [name, value] of Object.entries(this.headersFor(request.query ?? '', context))) headers.set(name, value);
  }

  /** Times each fetch made for a client operation (metrics); a failed one answers for its missing fields. */
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): ProcessResult {
    // Health checks and schema loading are not client traffic: their failures are thrown as Apollo expects.
    if (options.kind !== 'incoming operation') return super.process(options);
    const started = performance.now();
    try {
      const response = await this.fetchOperation(options);
      this.observe?.(this.subgraph, (performance.now() - started) / 1000, response.errors?.length ? 'graphql_errors' : 'ok');
      return response;
    } catch (error) {
      // A refusal of the client's input is an answer with errors, not a failed fetch (a 401/403 is the gateway's secret: failed).
      const refusal = clientErrorFromResponse(error);
      const outcome = refusal?.extensions.code === 'BAD_USER_INPUT' ? 'graphql_errors' : 'failed';
      this.observe?.(this.subgraph, (performance.now() - started) / 1000, outcome);
      return { errors: this.failedFetchErrors(options, error, refusal) };
    }
  }

  private failedFetchErrors(
    options: GraphQLDataSourceProcessOptions<GatewayContext>,
    error: unknown,
    refusal: { message: string; extensions: Record<string, unknown> } | undefined,
  ) {
    const { request, context } = options;
    const requestId = 'requestId' in context ? context.requestId : undefined;
    let client: { message: string; extensions: Record<string, unknown> };
    if (error instanceof SubgraphFetchError) {
      // The breaker's fast answers repeat what its opening already logged.
      const level = error.reason === 'circuit_open' ? 'debug' : 'warn';
      this.log?.[level]({ subgraph: this.subgraph, reason: error.reason, ...error.detail, cause: undefined, err: error.detail.cause, request_id: requestId }, 'subgraph fetch failed');
      client = { message: UNAVAILABLE_MESSAGE, extensions: { code: SERVICE_UNAVAILABLE } };
    } else {
      // A non-2xx answer (Apollo's errorFromResponse) or an unreadable body.
      if (refusal) {
        this.log?.info({ subgraph: this.subgraph, code: refusal.extensions.code, request_id: requestId }, 'subgraph refused the request');
        client = refusal;
      } else {
        this.log?.warn({ subgraph: this.subgraph, err: error, request_id: requestId }, 'subgraph answer unusable');
        client = { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      }
    }
    const representations = request.variables?.representations;
    return missingFieldErrors(fetchShape(request.query ?? ''), Array.isArray(representations) ? representations.length : 0, client);
  }
}

/**
 * The code a subgraph's 4xx answer may hand to the client with its message:
 * the client's input is at fault, not the gateway. (A 401 or 403 from a
 * subgraph is its secret guard: the message speaks of the gateway, not the
 * client, so only the code passes.)
 */
const CLIENT_ERROR_CODES = new Set(['BAD_USER_INPUT']);
const MAX_MESSAGE_LENGTH = 500;

/**
 * The client's share of a subgraph's 4xx answer (Apollo's errorFromResponse
 * keeps its status and parsed body in `extensions.response`): a variable the
 * subgraph could not coerce (a custom scalar the gateway treats as opaque,
 * e.g. `DateTime` sent as ""), or input it refused before running
 * (U+0000), is answered with HTTP 400 and BAD_USER_INPUT. Only a well-formed
 * GraphQL error with one of the client codes passes, with its message and
 * `field`; anything else (HTML, a proxy's page, a code the gateway should
 * never have provoked) is undefined, for the caller's generic error. 401 and
 * 403 keep their code, with a generic message.
 */
export function clientErrorFromResponse(error: unknown): { message: string; extensions: Record<string, unknown> } | undefined {
  if (!(error instanceof GraphQLError)) return undefined;
  const response = error.extensions.response as { status?: unknown; body?: unknown } | undefined;
  const status = response?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  const first = firstGraphQLError(response?.body);
  const code = first?.extensions?.code;
  if (first && typeof code === 'string' && CLIENT_ERROR_CODES.has(code)) {
    const field = first.extensions?.field;
    return {
      message: first.message.length > MAX_MESSAGE_LENGTH ? `${first.message.slice(0, MAX_MESSAGE_LENGTH)}…` : first.message,
      extensions: { code, ...(typeof field === 'string' && field.length <= MAX_MESSAGE_LENGTH ? { field } : {}) },
    };
  }
  if (status === 401) return { message: 'Authentication is required for this field', extensions: { code: 'UNAUTHENTICATED' } };
  if (status === 403) return { message: 'You are not allowed to access this data', extensions: { code: 'FORBIDDEN' } };
  return undefined;
}

function firstGraphQLError(body: unknown): { message: string; extensions?: Record<string, unknown> } | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const first = errors[0] as { message?: unknown; extensions?: unknown } | null;
  if (!first || typeof first.message !== 'string' || first.message === '') return undefined;
  const extensions = first.extensions !== null && typeof first.extensions === 'object' ? (first.extensions as Record<string, unknown>) : undefined;
  return { message: first.message, ...(extensions ? { extensions } : {}) };
}

function isRequestContext(context: GatewayContext | Record<string, unknown>): context is GatewayContext {
  return 'requestId' in context;
}

/**
 * The cache hint of a subgraph's Cache-Control header, as Apollo's
 * RemoteGraphQLDataSource reads it: max-age in whole seconds (0 without one),
 * and its scope.
 */
export function cacheHint(header: string | null | undefined): { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } {
  const hint: { maxAge: number; scope?: 'PRIVATE' | 'PUBLIC' } = { maxAge: 0 };
  for (const directive of (header ?? '').split(',')) {
    const [name = '', value] = directive.trim().toLowerCase().split('=', 2);
    if (name === 'max-age' && value !== undefined && /^[0-9]+$/.test(value)) hint.maxAge = Number(value);
    else if (name === 'private') hint.scope = 'PRIVATE';
    else if (name === 'public') hint.scope = 'PUBLIC';
  }
  return hint;
}
