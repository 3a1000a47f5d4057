import type { JSONWebKeySet, JWK } from 'jose';
import type { JwtOptions } from './verify.js';
import { publicJwks, testSigningJwk } from './keys.js';

/**
 * Whom a verifier (the gateway, every subgraph) believes: the user subgraph's
 * public keys for user tokens, and per calling service its own public keys and
 * the scopes it may hold. Nothing here can sign.
 */
export interface KeySource {
  /** A JWKS URL, fetched and cached (jose's remote JWKS: refetched on an unknown kid after a cooldown). */
  jwksUrl?: string | undefined;
  /** Public keys given inline (pinned: they change only with the configuration). */
  jwks?: JSONWebKeySet | undefined;
}

export interface TrustedService extends KeySource {
  /** The only scopes a token of this service may carry; a token with any other is refused whole. */
  scopes: string[];
}

export interface TrustConfig {
  NODE_ENV: string;
  JWT_JWKS_URL?: string | undefined;
  JWT_JWKS?: string | undefined;
  TRUSTED_SERVICES?: string | undefined;
}

/**
 * The services that call others through the gateway, the scopes each is
 * allowed by default, and where `npm start` runs them. Production trusts none
 * unless TRUSTED_SERVICES names them.
 */
export const DEFAULT_TRUSTED_SERVICES: Record<string, { port: number; scopes: string[] }> = {
  // The agent's knowledge search is public: it needs no scope. It mints delegated tokens (consented personal
  // context, delegation.ts) for the users it answers: the user subgraph refuses any user who granted nothing. Its
  // reminders and seasonal messages post notifications.
  agent: { port: 4004, scopes: ['agent-access:delegate', 'notifications:write'] },
  // The report saga: the agent's explanation and the user's notification.
  diagnosis: { port: 4005, scopes: ['reports:explain', 'notifications:write'] },
};
const DEV_USER_PORT = 4001;

/** Where user tokens' public keys come from: JWT_JWKS, JWT_JWKS_URL, else the development or test default. */
export function userKeySource(config: TrustConfig): KeySource {
  if (config.JWT_JWKS) return { jwks: parsePublicJwks(config.JWT_JWKS) };
  if (config.JWT_JWKS_URL) return { jwksUrl: config.JWT_JWKS_URL };
  if (config.NODE_ENV === 'test') return { jwks: publicJwks([testSigningJwk('user')]) };
  if (config.NODE_ENV === 'development') return { jwksUrl: `http://localhost:${DEV_USER_PORT}/.well-known/jwks.json` };
  return {};
}

/** The services whose tokens are believed: TRUSTED_SERVICES, else the defaults outside production. */
export function trustedServices(config: TrustConfig): Record<string, TrustedService> {
  if (config.TRUSTED_SERVICES) return parseTrustedServices(config.TRUSTED_SERVICES);
  const out: Record<string, TrustedService> = {};
  if (config.NODE_ENV === 'production') return out;
  for (const [name, { port, scopes }] of Object.entries(DEFAULT_TRUSTED_SERVICES)) {
    out[name] =
      config.NODE_ENV === 'test'
        ? { jwks: publicJwks([testSigningJwk(name)]), scopes: [...scopes] }
        : { jwksUrl: `http://localhost:${port}/.well-known/jwks.json`, scopes: [...scopes] };
  }
  return out;
}

/** Problems with the trust configuration, for loadConfig. */
export function trustProblems(config: TrustConfig): string[] {
  const problems: string[] = [];
  if (config.JWT_JWKS) {
    try {
      parsePublicJwks(config.JWT_JWKS);
    } catch (error) {
      problems.push(`JWT_JWKS: ${(error as Error).message}`);
    }
  }
  if (config.TRUSTED_SERVICES) {
    try {
      parseTrustedServices(config.TRUSTED_SERVICES);
    } catch (error) {
      problems.push(`TRUSTED_SERVICES: ${(error as Error).message}`);
    }
  }
  if (config.NODE_ENV === 'production' && !config.JWT_JWKS && !config.JWT_JWKS_URL) {
    problems.push("JWT_JWKS_URL or JWT_JWKS: one is required when NODE_ENV=production (the user subgraph's public keys)");
  }
  return problems;
}

/**
 * `{"agent":{"jwks":"http://agent:4004/.well-known/jwks.json","scopes":[]},
 *   "diagnosis":{"jwks":{"keys":[…]},"scopes":["reports:explain"]}}`
 */
export function parseTrustedServices(text: string): Record<string, TrustedService> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  if (!isRecord(value) || Array.isArray(value)) throw new Error('must be a JSON object of service name → { jwks, scopes }');
  const out: Record<string, TrustedService> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new Error(`"${name}" is not a service name (lower case letters, digits, dashes)`);
    if (!isRecord(entry)) throw new Error(`${name}: must be an object with jwks and scopes`);
    const scopes = entry.scopes ?? [];
    if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string' && /^[a-z:_-]{1,64}$/.test(s))) throw new Error(`${name}.scopes: must be an array of scope names`);
    const jwks = entry.jwks;
    if (typeof jwks === 'string') {
      if (!/^https?:\/\//.test(jwks)) throw new Error(`${name}.jwks: must be an http(s) URL or a JWKS object`);
      new URL(jwks);
      out[name] = { jwksUrl: jwks, scopes: [...scopes] as string[] };
    } else if (isRecord(jwks)) {
      out[name] = { jwks: checkPublic(jwks), scopes: [...scopes] as string[] };
    } else {
      throw new Error(`${name}.jwks: must be an http(s) URL or a JWKS object`);
    }
  }
  return out;
}

export function parsePublicJwks(text: string): JSONWebKeySet {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('not valid JSON');
  }
  if (!isRecord(value)) throw new Error('must be a JWKS ({"keys":[…]})');
  return checkPublic(value);
}

/** A verifier's configuration must never hold private key material. */
function checkPublic(value: Record<string, unknown>): JSONWebKeySet {
  if (!Array.isArray(value.keys) || value.keys.length === 0) throw new Error('must be a JWKS with at least one key ({"keys":[…]})');
  const keys: JWK[] = [];
  for (const key of value.keys as unknown[]) {
    if (!isPublicJwk(key)) throw new Error('every key needs a kty');
    if ('d' in key) throw new Error(`key ${key.kid ?? '(no kid)'} holds private material: give verifiers public keys only`);
    keys.push(key);
  }
  return { ...value, keys };
}

function isPublicJwk(value: unknown): value is JWK {
  return isRecord(value) && typeof value.kty === 'string';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A verifier's configuration: whom it trusts (TrustConfig) and what it checks. */
export type VerifierConfig = TrustConfig & {
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
  SERVICE_TOKEN_AUDIENCE: string;
  SERVICE_TOKEN_TTL_SECONDS: number;
  JWKS_CACHE_MAX_AGE_MS: number;
  JWKS_COOLDOWN_MS: number;
};

/** What createTokenVerifier needs, from a service's configuration. */
export function tokenVerifierOptions(config: VerifierConfig): JwtOptions {
  return {
    ...userKeySource(config),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    services: trustedServices(config),
    serviceAudience: config.SERVICE_TOKEN_AUDIENCE,
    serviceTtlSeconds: config.SERVICE_TOKEN_TTL_SECONDS,
    jwksCacheMaxAgeMs: config.JWKS_CACHE_MAX_AGE_MS,
    jwksCooldownMs: config.JWKS_COOLDOWN_MS,
  };
}
