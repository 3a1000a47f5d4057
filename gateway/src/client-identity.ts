import type { IncomingHttpHeaders } from 'node:http';

/**
 * Which app (and which release of it) sent an operation: the client-awareness
 * headers Apollo Client (`clientAwareness`) and Apollo's tools send,
 * `apollographql-client-name` / `apollographql-client-version` by default.
 *
 * The values are the client's word, not an identity: they are kept as sent
 * (trimmed, control characters removed, capped) for logs, traces and the usage
 * store, and bounded further for metric labels (ServiceMetrics.clientLabels).
 */
export interface ClientIdentity {
  name: string;
  version: string;
}

/** Name or version of a request that sent none (or only blanks and control characters). */
export const UNKNOWN_CLIENT = '(unknown)';
/** Longest name or version kept, in characters (the shared contract of issue 22). */
export const MAX_CLIENT_FIELD_LENGTH = 128;

export interface ClientHeaderNames {
  /** CLIENT_NAME_HEADER, lower case. */
  name: string;
  /** CLIENT_VERSION_HEADER, lower case. */
  version: string;
}

export const DEFAULT_CLIENT_HEADERS: ClientHeaderNames = { name: 'apollographql-client-name', version: 'apollographql-client-version' };

// C0, DEL and C1 controls, plus line/paragraph separators and bidi overrides: anything that could
// split a log line, forge another one, or reorder what a reader sees.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * One header value as kept: the first of repeated headers, unsafe characters
 * removed, trimmed, at most MAX_CLIENT_FIELD_LENGTH characters (a surrogate
 * pair is never split); undefined when nothing is left.
 */
export function cleanClientField(raw: unknown): string | undefined {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== 'string' || value === '') return undefined;
  // Node limits a request's headers to 16 KiB, so the whole value is cleaned; only then is it cut,
  // so that a run of control characters cannot push the real name out of the kept part.
  let cleaned = value.replace(UNSAFE, '').trim();
  if (cleaned.length > MAX_CLIENT_FIELD_LENGTH) {
    cleaned = cleaned.slice(0, MAX_CLIENT_FIELD_LENGTH);
    // A high surrogate left alone at the end would make invalid UTF-8 in a log line or a span.
    if (/[\ud800-\udbff]$/.test(cleaned)) cleaned = cleaned.slice(0, -1);
    cleaned = cleaned.trimEnd();
  }
  return cleaned === '' ? undefined : cleaned;
}

/** Header lookup by lower-case name: Node's `req.headers`, or anything with `get` (Fetch Headers, Apollo's HeaderMap). */
export type HeaderSource = IncomingHttpHeaders | { get(name: string): string | null | undefined };

function header(source: HeaderSource, name: string): unknown {
  return typeof source.get === 'function' ? (source as { get(name: string): unknown }).get(name) : (source as IncomingHttpHeaders)[name];
}

/** The client a request names in its headers; `(unknown)` for what it does not name. */
export function clientFromHeaders(headers: HeaderSource, names: ClientHeaderNames = DEFAULT_CLIENT_HEADERS): ClientIdentity {
  return {
    name: cleanClientField(header(headers, names.name)) ?? UNKNOWN_CLIENT,
    version: cleanClientField(header(headers, names.version)) ?? UNKNOWN_CLIENT,
  };
}

/**
 * The client of a WebSocket connection. Browsers cannot set headers on a
 * WebSocket upgrade, so Apollo Client's GraphQLWsLink (whose `clientAwareness`
 * only reaches HttpLink's headers) and graphql-ws's `createClient` can only
 * name themselves in `connectionParams`: the header names as keys, top level
 * or under `headers` (as they send `authorization`). Node and native clients
 * can set upgrade headers, which are read first, as on every HTTP request;
 * connectionParams fill in whatever the upgrade did not name.
 */
export function clientFromConnection(upgrade: HeaderSource, connectionParams: unknown, names: ClientHeaderNames = DEFAULT_CLIENT_HEADERS): ClientIdentity {
  const fromHeaders = clientFromHeaders(upgrade, names);
  if (connectionParams === null || typeof connectionParams !== 'object') return fromHeaders;
  const params = connectionParams as Record<string, unknown>;
  const nested = params.headers !== null && typeof params.headers === 'object' ? (params.headers as Record<string, unknown>) : {};
  const param = (name: string) => cleanClientField(params[name]) ?? cleanClientField(nested[name]) ?? cleanClientField(caseInsensitive(nested, name));
  return {
    name: fromHeaders.name !== UNKNOWN_CLIENT ? fromHeaders.name : (param(names.name) ?? UNKNOWN_CLIENT),
    version: fromHeaders.version !== UNKNOWN_CLIENT ? fromHeaders.version : (param(names.version) ?? UNKNOWN_CLIENT),
  };
}

function caseInsensitive(record: Record<string, unknown>, lowerName: string): unknown {
  for (const [key, value] of Object.entries(record)) if (key.toLowerCase() === lowerName) return value;
  return undefined;
}

/**
 * The client an operation is attributed to: a trusted document's owner (from
 * the manifest) stands in for a name the request did not send. A sent name
 * always wins: the manifest says who shipped a document, the header who runs it.
 */
export function withDocumentOwner(client: ClientIdentity, owner: string | undefined): ClientIdentity {
  return owner !== undefined && client.name === UNKNOWN_CLIENT ? { ...client, name: owner } : client;
}
