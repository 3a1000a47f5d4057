import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet, JWK } from 'jose';

/**
 * Signing keys. Each service that signs tokens holds its own key pair (the user
 * subgraph for user tokens, the agent and diagnosis subgraphs for their service
 * tokens) and publishes the public halves at GET /.well-known/jwks.json; every
 * verifier holds public keys only. A ring is a set of keys with one active
 * signer: the others are published so that a next key is known before it signs
 * and a previous key keeps verifying the tokens it signed until they expire.
 */
export type SigningAlgorithm = 'EdDSA' | 'ES256';
export const SIGNING_ALGORITHMS: SigningAlgorithm[] = ['EdDSA', 'ES256'];
export const JWKS_PATH = '/.well-known/jwks.json';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export interface KeyRing {
  service: string;
  /** The key new tokens are signed with. */
  active: SigningKey;
  /** Every key of the set, the active one included; all are published. */
  keys: SigningKey[];
  /** The public JWKS served at /.well-known/jwks.json. */
  jwks: JSONWebKeySet;
}

/** What a signing service's config says about its keys. */
export interface SigningConfig {
  NODE_ENV: string;
  JWT_SIGNING_KEYS?: string | undefined;
  JWT_SIGNING_KID?: string | undefined;
  JWT_KEYS_DIR?: string | undefined;
}

/**
 * Private JWKs from a variable's text: a JWK set (`{"keys":[…]}`), an array of
 * JWKs, one JWK, a PKCS#8 PEM, or the path of a file holding any of these
 * (a mounted secret).
 */
export function parsePrivateKeys(text: string): JWK[] {
  const trimmed = text.trim();
  const source = /^[[{]|^-----BEGIN/.test(trimmed) ? trimmed : readFileSync(trimmed, 'utf8').trim();
  if (source.startsWith('-----BEGIN')) return [createPrivateKey(source).export({ format: 'jwk' }) as JWK];
  const value = JSON.parse(source) as unknown;
  const list = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.keys) ? value.keys : [value];
  if (list.length === 0) throw new Error('the key set is empty');
  return list as JWK[];
}

/** A key from a private JWK: Ed25519 (EdDSA) or P-256 (ES256) only; `kid` defaults to the RFC 7638 thumbprint. */
export function signingKeyFromJwk(jwk: JWK): SigningKey {
  if (!jwk.d) throw new Error(`key ${jwk.kid ?? '(no kid)'}: a private key is required (the JWK has no "d")`);
  const privateKey = createPrivateKey({ key: { ...jwk }, format: 'jwk' });
  const alg = algorithmOf(privateKey);
  if (jwk.alg && jwk.alg !== alg) throw new Error(`key ${jwk.kid ?? '(no kid)'}: alg ${jwk.alg} does not match its key type (${alg})`);
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const kid = jwk.kid ?? thumbprint(publicJwk);
  return { kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } };
}

export function createKeyRing(service: string, jwks: JWK[], activeKid?: string): KeyRing {
  const keys = jwks.map(signingKeyFromJwk);
  const kids = new Set<string>();
  for (const key of keys) {
    if (kids.has(key.kid)) throw new Error(`two keys share the kid ${key.kid}`);
    kids.add(key.kid);
  }
  const active = activeKid ? keys.find((k) => k.kid === activeKid) : keys[0];
  if (!active) throw new Error(activeKid ? `JWT_SIGNING_KID ${activeKid} is not in the key set` : 'the key set is empty');
  return { service, active, keys, jwks: { keys: keys.map((k) => k.publicJwk) } };
}

/** A new private JWK (with `kid` and `alg`), e.g. for `npm run keys` or a rotation. */
export function generateSigningJwk(alg: SigningAlgorithm = 'EdDSA'): JWK {
  const { privateKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), alg, kid: thumbprint(publicJwk), use: 'sig' };
}

const rings = new Map<string, KeyRing>();

/**
 * This service's key ring, as configured: JWT_SIGNING_KEYS when set; otherwise,
 * outside production, a key made for this machine and kept under `.data/keys/`
 * (development) or one derived from this test run's seed (tests). Production
 * without JWT_SIGNING_KEYS is a config error (`signingProblems`) before this runs.
 * Built once per configuration: the HTTP route and the signers share it.
 */
export function signingKeyRing(service: string, config: SigningConfig): KeyRing {
  const id = JSON.stringify([service, config.NODE_ENV, config.JWT_SIGNING_KEYS ?? null, config.JWT_SIGNING_KID ?? null, config.JWT_KEYS_DIR ?? null]);
  const known = rings.get(id);
  if (known) return known;
  let jwks: JWK[];
  if (config.JWT_SIGNING_KEYS) jwks = parsePrivateKeys(config.JWT_SIGNING_KEYS);
  else if (config.NODE_ENV === 'test') jwks = [testSigningJwk(service)];
  else if (config.NODE_ENV === 'development') jwks = devKeys(service, config.JWT_KEYS_DIR ?? path.resolve('.data', 'keys'));
  else throw new Error(`${service}: JWT_SIGNING_KEYS is required when NODE_ENV=${config.NODE_ENV}`);
  const ring = createKeyRing(service, jwks, config.JWT_SIGNING_KID);
  rings.set(id, ring);
  return ring;
}

/** Config problems of a signing service (its loadConfig check): keys missing in production, or unreadable. */
export function signingProblems(service: string, config: SigningConfig): string[] {
  if (!config.JWT_SIGNING_KEYS) {
    return config.NODE_ENV === 'production' ? [`JWT_SIGNING_KEYS: required when NODE_ENV=production (the ${service} subgraph signs its tokens with it)`] : [];
  }
  try {
    createKeyRing(service, parsePrivateKeys(config.JWT_SIGNING_KEYS), config.JWT_SIGNING_KID);
    return [];
  } catch (error) {
    // The message names the problem, never the key material.
    const reason = error instanceof SyntaxError ? 'not valid JSON' : error instanceof Error ? error.message.split('\n')[0] : String(error);
    return [`JWT_SIGNING_KEYS: ${reason}`];
  }
}

/** GET /.well-known/jwks.json: the ring's public keys; caches may keep them briefly. */
export function jwksRoute(ring: KeyRing) {
  const body = JSON.stringify(ring.jwks);
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=60', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/**
 * The key a test run gives `service` when none is configured: derived from
 * SUOKE_TEST_KEY_SEED, which the first process to need it draws at random and
 * leaves in its environment, so that the services a test spawns as processes
 * trust the tokens the test signs. Read only with NODE_ENV=test.
 */
export function testSigningJwk(service: string): JWK {
  const seed = (process.env.SUOKE_TEST_KEY_SEED ??= randomBytes(16).toString('hex'));
  const secret = createHash('sha256').update(`${seed}:${service}`).digest();
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410).
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  return { ...(privateKey.export({ format: 'jwk' }) as JWK), alg: 'EdDSA', kid: `test-${service}-${thumbprint(publicJwk).slice(0, 8)}`, use: 'sig' };
}

/** The public JWKS of a test key (what the service would publish). */
export function publicJwks(jwks: JWK[]): JSONWebKeySet {
  return { keys: jwks.map((jwk) => signingKeyFromJwk(jwk).publicJwk) };
}

function devKeys(service: string, dir: string): JWK[] {
  const file = path.join(dir, `${service}.json`);
  try {
    return parsePrivateKeys(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(error as Error).message}`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Written aside and linked into place: a replica starting at the same moment reads a whole file or none.
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, `${JSON.stringify({ keys: [generateSigningJwk()] }, null, 2)}\n`, { mode: 0o600 });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(temporary);
  }
  return parsePrivateKeys(file);
}

function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'}: use Ed25519 (EdDSA) or P-256 (ES256)`);
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url). */
function thumbprint(jwk: JWK): string {
  const members = jwk.kty === 'OKP' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
