import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { badInput } from '../errors.js';
import type { Counter } from './store.js';

/**
 * Counter keys are built only from bounded parts: field coordinates and
 * argument paths from the SDL, a validated (and grouped) client address, a
 * user id of bounded shape, and client text hashed. So a client cannot grow a
 * key, nor mint new ones, by sending long or odd text.
 */

/** Longest argument value a key may be built from: the longest an email address can be (RFC 5321). */
export const KEY_VALUE_MAX = 254;

export interface RateLimitRule {
  limit: number;
  duration: number;
  /** `address`: counted per client address whatever token the caller carries. Default `caller`. */
  by?: 'caller' | 'address' | undefined;
  alsoPer?: string | undefined;
  /** Calls per window per (caller, `alsoPer` value); default `limit`. */
  alsoPerLimit?: number | undefined;
  message?: string | undefined;
}

export interface RateLimitIdentity {
  userId?: string | undefined;
  ip: string;
}

/** A short digest of client text: 128 bits of SHA-256, enough to keep distinct values apart. */
export function keyDigest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 22);
}

/**
 * The address every per-address limit counts by: an IPv4 address as it is
 * (also when written IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address as its
 * /64 (one subscriber's network: a client picks any address inside it at
 * will). Anything that is not an address counts as one shared `invalid`.
 */
export function addressKey(address: string): string {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return 'invalid';
  const groups = ipv6Groups(a);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] {
  let a = address.toLowerCase();
  if (a.includes('.')) {
    const at = a.lastIndexOf(':');
    const [p, q, r, s] = a.slice(at + 1).split('.').map(Number) as [number, number, number, number];
    a = `${a.slice(0, at + 1)}${((p << 8) | q).toString(16)}:${((r << 8) | s).toString(16)}`;
  }
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16));
}

/** A user id as a key part: ids of the usual shape as they are, anything else digested. */
function userKey(userId: string): string {
  return /^[A-Za-z0-9_:.-]{1,64}$/.test(userId) ? userId : `h:${keyDigest(userId)}`;
}

function argumentAt(args: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((v, part) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined), args);
}

/**
 * The counters of one field call: one per caller (the signed-in user, or the
 * client address when anonymous or when the rule says `by: "address"`), plus,
 * with `alsoPer`, one per (caller, argument value). Throws BAD_USER_INPUT,
 * before anything is counted, when that value is longer than KEY_VALUE_MAX.
 */
export function rateLimitCounters(coordinate: string, rule: RateLimitRule, identity: RateLimitIdentity, args: Record<string, unknown>): Counter[] {
  const caller = identity.userId && rule.by !== 'address' ? `u:${userKey(identity.userId)}` : `a:${addressKey(identity.ip)}`;
  const counters: Counter[] = [{ key: `${coordinate}:${caller}`, limit: rule.limit, duration: rule.duration }];
  if (rule.alsoPer) {
    const value = argumentAt(args, rule.alsoPer);
    if (typeof value === 'string') {
      const normalised = value.trim().toLowerCase();
      if (normalised.length > KEY_VALUE_MAX) throw badInput(`${rule.alsoPer} must be at most ${KEY_VALUE_MAX} characters; received ${normalised.length}`, rule.alsoPer);
      if (normalised !== '') {
        counters.push({ key: `${coordinate}:${caller}:${rule.alsoPer}:${keyDigest(normalised)}`, limit: rule.alsoPerLimit ?? rule.limit, duration: rule.duration });
      }
    }
  }
  return counters;
}
