import { signServiceToken, signingKeyRing, type SigningConfig } from './auth/index.js';

/**
 * How one subgraph calls another: through the gateway, like any client, with
 * its own short-lived service token signed by its own key. Nothing here knows
 * another subgraph's address or code, so each team still deploys alone.
 */

export interface ServiceCredentialOptions extends SigningConfig {
  /** The calling service: the token's subject is `service:<name>`, signed with this service's own key ring. */
  service: string;
  /** Exactly the scopes its calls need (verifiers refuse any not configured for it in TRUSTED_SERVICES). */
  scopes: readonly string[];
  JWT_ISSUER: string;
  SERVICE_TOKEN_AUDIENCE: string;
  SERVICE_TOKEN_TTL_SECONDS: number;
}

/**
 * A service token source, renewed a minute (or a fifth of the lifetime) before
 * expiry. The key ring is this service's own (JWT_SIGNING_KEYS, or the
 * development key under .data/keys), published at its /.well-known/jwks.json.
 */
export function serviceCredential(options: ServiceCredentialOptions): () => Promise<string | undefined> {
  const ttl = options.SERVICE_TOKEN_TTL_SECONDS;
  const margin = Math.min(60, Math.floor(ttl / 5));
  let current: { token: Promise<string>; renewAt: number } | undefined;
  return async () => {
    if (!current || Date.now() >= current.renewAt) {
      const key = signingKeyRing(options.service, options);
      const token = signServiceToken(
        { name: options.service, scopes: options.scopes },
        { key, issuer: options.JWT_ISSUER, audience: options.SERVICE_TOKEN_AUDIENCE, ttlSeconds: ttl },
      );
      current = { token, renewAt: Date.now() + (ttl - margin) * 1000 };
      token.catch(() => (current = undefined));
    }
    return current.token;
  };
}

/** Error codes that mean the request itself is wrong or refused: sending it again gives the same answer. */
const PERMANENT_CODES = new Set(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT']);

/** A failed service call. `transient` says whether trying again later may succeed. */
export class ServiceCallError extends Error {
  readonly transient: boolean;
  readonly code: string | undefined;
  constructor(message: string, options: { transient: boolean; code?: string | undefined; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'ServiceCallError';
    this.transient = options.transient;
    this.code = options.code;
  }
}

export interface GatewayClientOptions {
  /** The gateway's GraphQL endpoint. */
  url: string;
  token: () => Promise<string | undefined>;
  /** Per call: a call taking longer is aborted and reported as transient. */
  timeoutMs: number;
}

export type GatewayRequest = <T>(operationName: string, query: string, variables: Record<string, unknown>) => Promise<T>;

/**
 * One GraphQL operation through the gateway. Resolves with `data` only when
 * the operation produced no error; otherwise throws a ServiceCallError whose
 * `transient` flag follows the error code (network failures, timeouts, 5xx,
 * RATE_LIMITED and masked internal errors are transient; refusals and bad
 * input are not), so a caller can retry only what may succeed.
 */
export function gatewayClient(options: GatewayClientOptions): GatewayRequest {
  return async <T>(operationName: string, query: string, variables: Record<string, unknown>): Promise<T> => {
    const token = await options.token();
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ operationName, query, variables }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      throw new ServiceCallError(timedOut ? `${operationName}: no answer within ${options.timeoutMs} ms` : `${operationName}: the gateway could not be reached`, {
        transient: true,
        cause: error,
      });
    }
    const body = (await response.json().catch(() => undefined)) as
      | { data?: T | null; errors?: Array<{ message?: string; extensions?: { code?: string } }> }
      | undefined;
    const first = body?.errors?.[0];
    if (first || !body?.data) {
      const code = first?.extensions?.code;
      const transient = code ? !PERMANENT_CODES.has(code) : response.status >= 500 || response.status === 429 || response.status === 0;
      throw new ServiceCallError(`${operationName}: ${first?.message ?? `HTTP ${response.status} without data`}${code ? ` (${code})` : ''}`, { transient, code });
    }
    return body.data;
  };
}
