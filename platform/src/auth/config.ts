import { z } from 'zod';
import { optionalUrl } from '../env.js';
import { trustProblems, type TrustConfig } from './trust.js';

// Auth's slice of the environment: what every verifier reads (in platform's baseEnv), and what a signer reads.

/** Variables every process (gateway and subgraphs) reads: whose tokens it believes, and how. */
export const authEnv = {
  /**
   * The user subgraph's JWKS (its public keys), fetched and cached. Default outside production:
   * http://localhost:4001/.well-known/jwks.json (tests: the test run's keys). See README, Tokens and keys.
   */
  JWT_JWKS_URL: optionalUrl,
  /** Instead of the URL: the user subgraph's public keys inline, as a JWKS (pinned until changed). */
  JWT_JWKS: z.string().trim().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default('suoke-life'),
  /** Audience of user access tokens. */
  JWT_AUDIENCE: z.string().min(1).default('suoke-app'),
  /** Audience of service tokens (a service calling through the gateway); never the user tokens' audience. */
  SERVICE_TOKEN_AUDIENCE: z.string().min(1).default('suoke-services'),
  /** Lifetime of a service token; verifiers refuse service tokens issued for longer. */
  SERVICE_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(3_600).default(300),
  /**
   * The services whose own tokens are believed, each with its JWKS (URL or inline) and the only
   * scopes it may hold, as JSON: {"diagnosis":{"jwks":"http://diagnosis:4005/.well-known/jwks.json",
   * "scopes":["reports:explain","notifications:write"]}}. Default outside production: agent and
   * diagnosis on localhost:4004/4005 with the scopes they use; production: none unless set.
   */
  TRUSTED_SERVICES: z.string().trim().min(1).optional(),
  /** How long a fetched JWKS is kept before it is fetched again (jose's cacheMaxAge). */
  JWKS_CACHE_MAX_AGE_MS: z.coerce.number().int().min(0).max(86_400_000).default(600_000),
  /** After a JWKS fetch, how long a token with an unknown kid waits before another fetch (jose's cooldownDuration). */
  JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
};

/**
 * Variables of a service that signs tokens (user: access tokens; agent and diagnosis: their
 * own service tokens). Read by no other process: only these hold a private key.
 */
export const signingEnv = z.object({
  /**
   * This service's private keys: a JWK set (JSON), one PKCS#8 PEM, or the path of a file holding
   * either (a mounted secret). Required in production; outside it a key is made under JWT_KEYS_DIR.
   */
  JWT_SIGNING_KEYS: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  /** The kid of the key that signs; the others are only published (rotation). Default: the first. */
  JWT_SIGNING_KID: z.string().trim().min(1).optional(),
  /** Development only: where a key made for this machine is kept (default .data/keys). */
  JWT_KEYS_DIR: z.string().min(1).optional(),
});

export type SigningEnvConfig = z.infer<typeof signingEnv>;

/** Config problems of the verifier's variables (loadConfig): the trust configuration, and the two audiences kept apart. */
export function authProblems(config: TrustConfig & { JWT_AUDIENCE?: string | undefined; SERVICE_TOKEN_AUDIENCE?: string | undefined }): string[] {
  return [
    ...trustProblems(config),
    ...(config.SERVICE_TOKEN_AUDIENCE !== undefined && config.SERVICE_TOKEN_AUDIENCE === config.JWT_AUDIENCE
      ? ['SERVICE_TOKEN_AUDIENCE: must differ from JWT_AUDIENCE (a user token is never a service token)']
      : []),
  ];
}
