import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The client address as the gateway sees it: the connection's peer, or, behind
 * `trustedProxyHops` reverse proxies, the address the outermost trusted proxy
 * saw (counted from the right of X-Forwarded-For, which clients can pad on the
 * left). An entry there that is not an address is ignored for the peer. Limits
 * group addresses themselves (platform's `addressKey`: an IPv6 /64 is one).
 */
export function clientIp(req: IncomingMessage, trustedProxyHops: number): string {
  const peer = normalise(req.socket.remoteAddress ?? 'unknown');
  if (trustedProxyHops <= 0) return peer;
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const candidate = forwarded[forwarded.length - trustedProxyHops];
  return candidate && isIP(candidate) ? normalise(candidate) : peer;
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
