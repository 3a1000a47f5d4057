import type { IncomingMessage } from 'node:http';

/**
 * The client address as the gateway sees it: the connection's peer, or, behind
 * `trustedProxyHops` reverse proxies, the address the outermost trusted proxy
 * saw (counted from the right of X-Forwarded-For, which clients can pad on the left).
 */
export function clientIp(req: IncomingMessage, trustedProxyHops: number): string {
  const peer = normalise(req.socket.remoteAddress ?? 'unknown');
  if (trustedProxyHops <= 0) return peer;
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  const candidate = forwarded[forwarded.length - trustedProxyHops];
  return candidate ? normalise(candidate) : peer;
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
