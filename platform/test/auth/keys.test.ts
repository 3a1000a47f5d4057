import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, signServiceToken, createKeyRing, generateSigningJwk, parsePrivateKeys, publicJwks, signingKeyRing, signingProblems } from '../../src/auth/index.js';

describe('key rings', () => {
  it('development: makes a key under JWT_KEYS_DIR once, readable by its owner only, and reuses it after a restart', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'suoke-keys-'));
    const first = signingKeyRing('agent', { NODE_ENV: 'development', JWT_KEYS_DIR: dir });
    const file = path.join(dir, 'agent.json');
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(JSON.parse(readFileSync(file, 'utf8')).keys[0].d).toBeTruthy();
    // Another process (no memo) reads the same key.
    const again = createKeyRing('agent', parsePrivateKeys(file));
    expect(again.active.kid).toBe(first.active.kid);
    expect(first.active.alg).toBe('EdDSA');
  });

  it('production: no key, no ring (and a config problem says so)', () => {
    expect(() => signingKeyRing('user', { NODE_ENV: 'production' })).toThrow(/JWT_SIGNING_KEYS is required/);
    expect(signingProblems('user', { NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^JWT_SIGNING_KEYS: required/)]);
  });

  it('reads a JWK set, an array, one JWK or a PKCS#8 PEM; Ed25519 and P-256 only', () => {
    const ed = generateSigningJwk();
    const ec = generateSigningJwk('ES256');
    expect(createKeyRing('s', parsePrivateKeys(JSON.stringify({ keys: [ed, ec] })), ec.kid).active.alg).toBe('ES256');
    expect(createKeyRing('s', parsePrivateKeys(JSON.stringify([ed]))).active.kid).toBe(ed.kid);
    expect(createKeyRing('s', parsePrivateKeys(JSON.stringify(ed))).active.kid).toBe(ed.kid);
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(createKeyRing('s', parsePrivateKeys(pem)).active.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => createKeyRing('s', parsePrivateKeys(rsa))).toThrow(/unsupported key type rsa/);
    expect(() => createKeyRing('s', [ed, ed])).toThrow(/share the kid/);
    expect(() => createKeyRing('s', [publicJwks([ed]).keys[0]!])).toThrow(/private key is required/);
  });

  it('publishes every key of the ring, public halves only; the active one signs', async () => {
    const [current, next] = [generateSigningJwk(), generateSigningJwk()];
    const ring = createKeyRing('diagnosis', [current, next], current.kid);
    expect(ring.jwks.keys.map((k) => k.kid)).toEqual([current.kid, next.kid]);
    expect(ring.jwks.keys.every((k) => !('d' in k))).toBe(true);
    const token = await signServiceToken({ name: 'diagnosis', scopes: [] }, { key: ring, issuer: 'i', audience: 'suoke-services', ttlSeconds: 60 });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe(current.kid);
    // A verifier that knows only the next key (published early) refuses the current key's tokens.
    const nextOnly = createTokenVerifier({ jwks: { keys: [] }, issuer: 'i', audience: 'a', services: { diagnosis: { jwks: publicJwks([next]), scopes: [] } } });
    await expect(nextOnly(token)).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    const both = createTokenVerifier({ jwks: { keys: [] }, issuer: 'i', audience: 'a', services: { diagnosis: { jwks: ring.jwks, scopes: [] } } });
    await expect(both(token)).resolves.toMatchObject({ id: 'service:diagnosis', roles: ['SERVICE'], service: 'diagnosis' });
  });
});
