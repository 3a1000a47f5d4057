import { randomUUID } from 'node:crypto';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { consumeRateLimits, type Logger, type RateLimitPluginOptions, type SessionDenyList } from '@suoke/platform';
import type { GatewayContext } from '../context.js';
import { withDocumentOwner } from '../client-identity.js';
import { OPERATION_NOT_TRUSTED, PERSISTED_QUERY_NOT_FOUND, type TrustedDocumentsMode } from '../document-guard.js';
import type { TrustedDocuments } from '../trusted-documents.js';
import type { LiveCaller } from './caller.js';
import { cachedOperation, cacheOperation, operationContextOf, operationKey, type LivePlanner, type LiveSchema, type OperationContext, type SharedOperation, type SubscriptionPlan } from './plan.js';
import { REASONS } from './stream.js';

/**
 * A subscription that passed every check at subscribe time, ready to open.
 * The document, operation, plan and operation context are the shared ones of
 * its operation (SharedOperation); only variables, context and caller are its own.
 */
export interface Prepared {
  schema: LiveSchema;
  plan: SubscriptionPlan;
  operationContext: OperationContext;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  source: string;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  context: GatewayContext;
  caller: LiveCaller;
}

export interface PrepareOptions {
  planner: LivePlanner;
  sessions: SessionDenyList;
  limits: {
    validationRules: readonly ValidationRule[];
    parseOptions: { maxTokens: number };
    checkVariables(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): void;
  };
  /** Set when @rateLimit is enforced (RATE_LIMITS=on). */
  rateLimits: RateLimitPluginOptions | undefined;
  trusted: { mode: TrustedDocumentsMode; documents(): TrustedDocuments | undefined; bypassRoles: readonly string[] };
  log: Logger;
}

/** A subscription request as every transport receives it (graphql-ws `subscribe` payload, or an HTTP JSON body). */
export interface SubscribePayload {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
  documentId?: unknown;
}

export function liveError(message: string, code: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/**
 * The checks an operation gets over HTTP, for a subscription on any transport,
 * in the same order: the caller (token expiry, ended session), the document
 * (trusted documents, token limit, validation with the query limits, one
 * subscription operation, variables), `@rateLimit` of its root field, then
 * planning. Returns the client's errors, or what to open.
 */
export async function prepareSubscription(
  options: PrepareOptions,
  caller: LiveCaller,
  payload: SubscribePayload,
): Promise<Prepared | GraphQLError[]> {
  if (caller.expiresAt !== undefined && caller.expiresAt <= Date.now()) return [liveError(REASONS.expired.message, REASONS.expired.code)];
  try {
    options.sessions.check(caller.user);
  } catch {
    return [liveError(REASONS.sessionEnded.message, REASONS.sessionEnded.code)];
  }
  const schema = options.planner.current();
  if (!schema) return [liveError('The gateway has not loaded its schema yet; try again shortly', 'SERVICE_UNAVAILABLE')];

  const resolved = resolveDocument(options.trusted, caller, payload);
  if (resolved instanceof GraphQLError) return [resolved];
  const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
  const shared = validOperation(options, schema, resolved, operationName);
  if (Array.isArray(shared)) return shared;
  // From here on the shared copies: the client's document text is not kept.
  const { document, operation, source } = shared;
  const rawVariables = payload.variables !== null && typeof payload.variables === 'object' ? (payload.variables as Record<string, unknown>) : {};
  const coerced = getVariableValues(schema.apiSchema, operation.variableDefinitions ?? [], rawVariables, { maxErrors: 5 });
  if (coerced.errors) return coerced.errors.map((e) => liveError(e.message, 'BAD_USER_INPUT'));
  // Subgraphs coerce them again; they get the client's JSON, as with queries.
  const variables = rawVariables;
  // A trusted document's owner stands in for a name the connection did not send, as for queries.
  const client = withDocumentOwner(caller.client, options.trusted.mode !== 'off' ? options.trusted.documents()?.ownerOfText(resolved) : undefined);
  const context: GatewayContext = { requestId: randomUUID(), authorization: caller.authorization, user: caller.user, clientIp: caller.clientIp, client };
  try {
    options.limits.checkVariables(schema.apiSchema, document, operation, variables);
    if (options.rateLimits) await consumeRateLimits(options.rateLimits, { operation, document, schema: schema.apiSchema, variables, context });
  } catch (error) {
    // Kept with its HTTP status (the HTTP transports answer with it); formatting drops it from what the client reads.
    if (error instanceof GraphQLError) return [error];
    throw error;
  }
  let plan: SubscriptionPlan;
  try {
    plan = options.planner.plan(schema, shared);
  } catch (error) {
    options.log.error({ err: error, request_id: context.requestId }, 'subscription could not be planned');
    return [liveError('Internal server error', 'INTERNAL_SERVER_ERROR')];
  }
  return { schema, plan, operationContext: operationContextOf(schema, shared), document, operation, source, operationName, variables, context, caller };
}

/**
 * The document parsed, validated (with the query limits) and checked to be one
 * subscription operation, once per text and operation name on a supergraph
 * version: a second subscription of the same operation reuses the first's.
 * Refusals are not cached (they cost the client, not the gateway's memory).
 */
function validOperation(options: PrepareOptions, schema: LiveSchema, source: string, operationName: string | undefined): SharedOperation | GraphQLError[] {
  const key = operationKey(source, operationName);
  const cached = cachedOperation(schema, key, source, operationName);
  if (cached) return cached;
  let document: DocumentNode;
  try {
    document = parse(source, options.limits.parseOptions);
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : 'The document could not be parsed';
    const tokens = /more tha[nt] (\d+) tokens/.exec(message);
    return [tokens ? liveError(`Token limit of ${tokens[1]} exceeded`, 'GRAPHQL_VALIDATION_FAILED') : liveError(message, 'GRAPHQL_PARSE_FAILED')];
  }
  const invalid = validate(schema.apiSchema, document, [...specifiedRules, ...options.limits.validationRules]);
  if (invalid.length > 0) {
    return invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: e.extensions.code ?? 'GRAPHQL_VALIDATION_FAILED' } }));
  }
  const operation = getOperationAST(document, operationName);
  if (!operation) return [liveError('The document names no operation to run (give operationName)', 'OPERATION_RESOLUTION_FAILURE')];
  if (operation.operation !== 'subscription') {
    return [liveError(`Only subscriptions are served over this transport; send a ${operation.operation} as a plain HTTP request`, 'BAD_REQUEST')];
  }
  return cacheOperation(schema, key, { source, operationName, document, operation });
}

/**
 * Whether a request's document is a subscription (the HTTP transports take
 * those and leave every other operation, and every document that does not
 * parse, to Apollo Server, which answers them as it always does).
 */
export function isSubscriptionPayload(options: Pick<PrepareOptions, 'trusted' | 'limits'>, payload: SubscribePayload): boolean {
  const documents = options.trusted.mode !== 'off' ? options.trusted.documents() : undefined;
  const extensions = payload.extensions !== null && typeof payload.extensions === 'object' ? (payload.extensions as Record<string, unknown>) : undefined;
  const persisted = extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  const id = typeof payload.documentId === 'string' ? payload.documentId : typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
  const text = typeof payload.query === 'string' && payload.query !== '' ? payload.query : id !== undefined ? documents?.byId(id) : undefined;
  // Cheap first: most documents are not subscriptions.
  if (text === undefined || !text.includes('subscription')) return false;
  try {
    const document = parse(text, options.limits.parseOptions);
    const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
    return getOperationAST(document, operationName)?.operation === 'subscription';
  } catch {
    return false;
  }
}

/**
 * The document to run, as the HTTP document guard decides it: a manifest id
 * (`documentId` or `extensions.persistedQuery.sha256Hash`) is swapped for its
 * text; in `require` mode any other document is refused unless the caller
 * holds a bypass role. (Automatic persisted queries are not registered over
 * WebSocket: an unknown hash is not found.)
 */
function resolveDocument(
  trusted: PrepareOptions['trusted'],
  caller: LiveCaller,
  payload: { query?: unknown; extensions?: unknown; documentId?: unknown },
): string | GraphQLError {
  const documents = trusted.mode !== 'off' ? trusted.documents() : undefined;
  const extensions = payload.extensions !== null && typeof payload.extensions === 'object' ? (payload.extensions as Record<string, unknown>) : undefined;
  const persisted = extensions?.persistedQuery as { sha256Hash?: unknown } | undefined;
  const id = typeof payload.documentId === 'string' ? payload.documentId : typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined;
  const query = typeof payload.query === 'string' && payload.query !== '' ? payload.query : undefined;
  if (id !== undefined) {
    const text = documents?.byId(id);
    if (text !== undefined && (query === undefined || query === text)) return text;
    if (query === undefined) return liveError('No trusted document has this id', PERSISTED_QUERY_NOT_FOUND);
  }
  if (query === undefined) return liveError('The subscription has no query', 'BAD_REQUEST');
  const bypass = caller.user?.roles.some((role) => trusted.bypassRoles.includes(role)) ?? false;
  if (trusted.mode === 'require' && !bypass && !documents?.hasText(query)) {
    return liveError("This gateway runs only the app's trusted documents, and this operation is not one of them.", OPERATION_NOT_TRUSTED);
  }
  return query;
}
