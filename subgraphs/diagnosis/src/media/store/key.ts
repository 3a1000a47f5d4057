import { createHmac, timingSafeEqual } from 'node:crypto';

/** `uploads/<id>` or `uploads/<id>.jpg`: one folder of lower-case letters, one name; no dot-segments, no separators. */
const MEDIA_KEY = /^[a-z]+\/[A-Za-z0-9-]+(\.\w+)?$/;

export function isMediaKey(key: string): boolean {
  return key.length <= 200 && MEDIA_KEY.test(key);
}

/** Keys come from our own code, but a bad one must never become a path outside the store (or another object's name). */
export function assertMediaKey(key: string): string {
  if (!isMediaKey(key)) throw new Error('Invalid media key (expected folder/name, e.g. uploads/<id>)');
  return key;
}

/** What a local-store URL grants: one method on one key, until `exp` (Unix seconds), with these limits. */
export interface LocalGrant {
  method: 'PUT' | 'GET';
  key: string;
  exp: number;
  /** PUT: the most bytes accepted. GET: absent. */
  max?: number | undefined;
  /** PUT: the content type the client must send. GET: the content type the file is served with. */
  ct: string;
}

function canonical(grant: LocalGrant): string {
  // Newlines cannot occur in a key, a number or a content type that passed the URL parser, so fields cannot run together.
  return [grant.method, grant.key, String(grant.exp), grant.max === undefined ? '' : String(grant.max), grant.ct].join('\n');
}

export function signGrant(secret: string, grant: LocalGrant): string {
  return createHmac('sha256', secret).update(canonical(grant)).digest('base64url');
}

/** Timing-safe: the time taken does not reveal how much of a forged signature was right. */
export function verifyGrant(secret: string, grant: LocalGrant, signature: string): boolean {
  const expected = Buffer.from(signGrant(secret, grant), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
