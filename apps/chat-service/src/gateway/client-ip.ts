import { clientAddress, TrustedProxies } from '@oq/platform';

/**
 * The client address the per-IP limits are keyed on, for sockets and REST alike: the TCP peer,
 * unless the peer is one of TRUSTED_PROXIES; then the right-most X-Forwarded-For entry that is not
 * one of them (the address our outermost proxy saw) — what Fastify's req.ip is in every HTTP app.
 * Sockets have no Fastify request, so both paths read the peer and the header here, alike.
 */
export function clientIp(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: TrustedProxies,
): string {
  const ip = clientAddress(remoteAddress, forwardedFor, trusted) || 'unknown';
  // One client, one bucket: an IPv4 peer of a dual-stack socket shows up as ::ffff:a.b.c.d.
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}
