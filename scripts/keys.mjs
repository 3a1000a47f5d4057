#!/usr/bin/env node
// npm run keys — signing keys for JWT_SIGNING_KEYS (README, Tokens and keys). Prints JSON to stdout:
//   npm run keys                      a new private JWK set with one Ed25519 key (one per signing service)
//   npm run keys -- --alg ES256       the same with a P-256 key
//   npm run keys -- --add FILE        FILE's set with a new key appended: the "next" key of a rotation
//   npm run keys -- --public FILE     the public JWKS of FILE's set (what the service serves; JWT_JWKS pins it)
// Nothing is written to disk: redirect the output into your secret store.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './supergraph-config.mjs';

const { generateSigningJwk, parsePrivateKeys, publicJwks } = await import(pathToFileURL(path.join(repoRoot, 'platform/dist/index.js')).href);

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const alg = option('--alg') ?? 'EdDSA';
if (!['EdDSA', 'ES256'].includes(alg)) {
  process.stderr.write(`--alg must be EdDSA or ES256 (received ${alg})\n`);
  process.exit(1);
}
const read = (file) => parsePrivateKeys(readFileSync(file, 'utf8'));
let output;
if (option('--public')) output = publicJwks(read(option('--public')));
else if (option('--add')) output = { keys: [...read(option('--add')), generateSigningJwk(alg)] };
else output = { keys: [generateSigningJwk(alg)] };
process.stdout.write(`${JSON.stringify(output)}\n`);
