import { ApolloServer, HeaderMap, type ApolloServerOptions, type BaseContext, type ContextThunk, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';
import type { AuthUser, Logger } from '@suoke/platform';
import type { TrustedDocuments } from './trusted-documents.js';
import { clientFromHeaders, type ClientHeaderNames } from './client-identity.js';

export type TrustedDocumentsMode = 'off' | 'allow' | 'require';

export interface DocumentGuardOptions {
  /**
   * `require`: only documents of the manifest run (by id or as their exact text), except for
   * callers holding a bypass role. `allow`: ids of the manifest are resolved, any text runs.
   * `off`: the manifest is not consulted.
   */
  mode: TrustedDocumentsMode;
  documents?: TrustedDocuments | undefined;
  /** Roles whose callers may send any document in `require` mode (internal tools, the platform's services). */
  bypassRoles: readonly string[];
  /** Largest document, in UTF-8 bytes, that an automatic persisted query may register. */
  apqMaxBytes: number;
  log: Logger;
  /** The client-awareness headers, named in the line logged for a refused document. */
  clientHeaders?: ClientHeaderNames;
}

export const PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';
export const OPERATION_NOT_TRUSTED = 'OPERATION_NOT_TRUSTED';
export const PERSISTED_QUERY_TOO_LARGE = 'PERSISTED_QUERY_TOO_LARGE';

type Verdict<TContext extends BaseContext> =
  | { kind: 'pass'; request: HTTPGraphQLRequest; context: ContextThunk<TContext> }
  | { kind: 'refuse'; status: number; code: string; message: string };

/** What a request asks to run, read as Apollo Server reads it (POST body or GET search). */
interface Asked {
  query?: string | undefined;
  documentId?: string | undefined;
  hash?: string | undefined;
  /** Rebuilds the request to run `query` instead, without `documentId` or the persisted query extension. */
  withQuery(query: string): HTTPGraphQLRequest;
}

/**
 * Decides, before Apollo Server parses anything, what a request may run:
 * trusted documents by id (`documentId`, as GraphQL Codegen's client preset and
 * Hive send it, or `extensions.persistedQuery.sha256Hash`, as Apollo Client
 * does) are swapped in as text; in `require` mode other documents are refused;
 * and an automatic persisted query larger than the cap is refused before it
 * could be stored. Requests it cannot read pass unchanged: Apollo Server
 * refuses those itself (batches, bad JSON, repeated GET parameters).
 */
export function createDocumentGuard<TContext extends BaseContext & { user?: AuthUser | undefined }>(options: DocumentGuardOptions) {
  const { mode, apqMaxBytes } = options;
  const bypass = new Set(options.bypassRoles);
  const refuse = (status: number, code: string, message: string): Verdict<TContext> => ({ kind: 'refuse', status, code, message });

  return async function check(request: HTTPGraphQLRequest, context: ContextThunk<TContext>): Promise<Verdict<TContext>> {
    const asked = read(request);
    const pass: Verdict<TContext> = { kind: 'pass', request, context };
    if (!asked) return pass;
    // Read per request: the manifest is loaded at listen and replaced when its source changes.
    const trusted = mode !== 'off' ? options.documents : undefined;

    if (trusted && asked.documentId !== undefined) {
      const document = trusted.byId(asked.documentId);
      if (document === undefined) return refuse(400, PERSISTED_QUERY_NOT_FOUND, `No trusted document has the id ${JSON.stringify(asked.documentId.slice(0, 80))}.`);
      return { ...pass, request: asked.withQuery(document) };
    }
    if (trusted && asked.hash !== undefined) {
      const document = trusted.byId(asked.hash);
      // A different text under a manifest hash is Apollo Server's "provided sha does not match query".
      if (document !== undefined && (asked.query === undefined || asked.query === document)) return { ...pass, request: asked.withQuery(document) };
    }
    const required = mode === 'require' && !(trusted && asked.query !== undefined && asked.hash === undefined && trusted.hasText(asked.query));
    if (required && (asked.hash !== undefined || asked.query !== undefined)) {
      // The caller is looked up only for a document about to be refused; Apollo reuses it.
      const caller = await context().catch(() => undefined);
      if (!caller) return pass; // Apollo Server calls the context again and answers its error (UNAUTHENTICATED).
      const memo: ContextThunk<TContext> = async () => caller;
      if (!caller.user?.roles.some((role) => bypass.has(role))) {
        const client = clientFromHeaders(request.headers, options.clientHeaders);
        options.log.debug(
          { documentId: asked.hash?.slice(0, 16), text: asked.query !== undefined, client_name: client.name, client_version: client.version },
          'untrusted document refused',
        );
        return asked.query === undefined
          ? refuse(400, PERSISTED_QUERY_NOT_FOUND, 'This gateway runs only the app\'s trusted documents, and none has this sha256Hash.')
          : refuse(400, OPERATION_NOT_TRUSTED, 'This gateway runs only the app\'s trusted documents, and this operation is not one of them.');
      }
      pass.context = memo;
    }
    if (asked.hash !== undefined && asked.query !== undefined && Buffer.byteLength(asked.query, 'utf8') > apqMaxBytes) {
      return refuse(400, PERSISTED_QUERY_TOO_LARGE, `An automatic persisted query may register at most ${apqMaxBytes} bytes; this document has ${Buffer.byteLength(asked.query, 'utf8')}.`);
    }
    return pass;
  };
}

function read(request: HTTPGraphQLRequest): Asked | undefined {
  if (request.method === 'POST') {
    const body = request.body;
    if (!isRecord(body)) return undefined;
    const extensions = isRecord(body.extensions) ? body.extensions : undefined;
    const persisted = extensions && isRecord(extensions.persistedQuery) ? extensions.persistedQuery : undefined;
    return {
      query: typeof body.query === 'string' ? body.query : undefined,
      documentId: typeof body.documentId === 'string' ? body.documentId : undefined,
      hash: typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined,
      withQuery(query) {
        const { documentId: _id, ...rest } = body;
        const { persistedQuery: _pq, ...otherExtensions } = extensions ?? {};
        return { ...request, body: { ...rest, query, extensions: otherExtensions } };
      },
    };
  }
  if (request.method === 'GET') {
    const search = new URLSearchParams(request.search);
    const once = (name: string) => {
      const values = search.getAll(name);
      return values.length === 1 ? values[0] : values.length === 0 ? undefined : null;
    };
    const query = once('query');
    const documentId = once('documentId');
    const rawExtensions = once('extensions');
    if (query === null || documentId === null || rawExtensions === null) return undefined;
    let extensions: Record<string, unknown> | undefined;
    if (rawExtensions !== undefined) {
      try {
        const parsed: unknown = JSON.parse(rawExtensions);
        if (!isRecord(parsed)) return undefined;
        extensions = parsed;
      } catch {
        return undefined;
      }
    }
    const persisted = extensions && isRecord(extensions.persistedQuery) ? extensions.persistedQuery : undefined;
    return {
      query,
      documentId,
      hash: typeof persisted?.sha256Hash === 'string' ? persisted.sha256Hash : undefined,
      withQuery(text) {
        const next = new URLSearchParams(search);
        next.set('query', text);
        next.delete('documentId');
        const { persistedQuery: _pq, ...otherExtensions } = extensions ?? {};
        if (Object.keys(otherExtensions).length > 0) next.set('extensions', JSON.stringify(otherExtensions));
        else next.delete('extensions');
        return { ...request, search: next.toString() };
      },
    };
  }
  return undefined;
}

interface StringCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, options?: { ttl?: number | null }): Promise<void>;
  delete(key: string): Promise<boolean | void>;
}

/** A cache that silently skips values over `maxBytes`: the APQ cap holds even for a path the guard did not see. */
export function boundedCache<C extends StringCache>(cache: C, maxBytes: number): StringCache {
  return {
    get: (key) => cache.get(key),
    set: async (key, value, options) => {
      if (Buffer.byteLength(value, 'utf8') <= maxBytes) await cache.set(key, value, options);
    },
    delete: (key) => cache.delete(key),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Apollo Server with the document guard in front of its HTTP entry point: the
 * only way a request reaches parsing. A refusal is answered here, in Apollo's
 * error shape, and never parsed.
 */
export class GuardedApolloServer<TContext extends BaseContext & { user?: AuthUser | undefined }> extends ApolloServer<TContext> {
  constructor(
    config: ApolloServerOptions<TContext>,
    private readonly guard: ReturnType<typeof createDocumentGuard<TContext>>,
  ) {
    super(config);
  }

  override async executeHTTPGraphQLRequest(args: { httpGraphQLRequest: HTTPGraphQLRequest; context: ContextThunk<TContext> }): Promise<HTTPGraphQLResponse> {
    const verdict = await this.guard(args.httpGraphQLRequest, args.context);
    if (verdict.kind === 'pass') return super.executeHTTPGraphQLRequest({ httpGraphQLRequest: verdict.request, context: verdict.context });
    return {
      status: verdict.status,
      headers: new HeaderMap([
        ['content-type', 'application/json; charset=utf-8'],
        ['cache-control', 'private, no-cache, must-revalidate'],
      ]),
      body: { kind: 'complete', string: `${JSON.stringify({ errors: [{ message: verdict.message, extensions: { code: verdict.code } }] })}\n` },
    };
  }
}
