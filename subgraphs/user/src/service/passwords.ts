import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { badInput } from '@suoke/platform';

/** scrypt parameters (N=2^15, r=8, p=1: ~32 MiB, tens of ms); stored with each hash so they can change later. */
const PARAMS = { N: 32_768, r: 8, p: 1, keyLength: 32 } as const;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number; keyLength: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * 2 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, params.keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hash format: `scrypt$N$r$p$saltB64$hashB64`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p), keyLength: expected.length });
  return timingSafeEqual(key, expected);
}

/** Spent on unknown emails so that a wrong email and a wrong password take the same time. */
let dummyHash: Promise<string> | undefined;
export function burnPasswordCheck(password: string): Promise<boolean> {
  dummyHash ??= hashPassword('suoke-timing-equaliser');
  return dummyHash.then((stored) => verifyPassword(password, stored));
}

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

/** The password policy. Errors name the field and the rule, never echo the password. */
export function checkPasswordPolicy(password: string, email: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw badInput(`password must be ${PASSWORD_MIN}–${PASSWORD_MAX} characters; received ${length}`, 'input.password');
  }
  if (new Set(password).size < 5) {
    throw badInput('password must contain at least 5 different characters', 'input.password');
  }
  const local = email.split('@')[0] ?? '';
  if (local.length >= 3 && password.toLowerCase().includes(local)) {
    throw badInput('password must not contain the email address', 'input.password');
  }
}
