/**
 * The client address the per-IP limits are keyed on, for sockets and REST alike.
 * X-Forwarded-For is client-controlled unless our own proxy appended to it: it is read
 * only with CHAT_TRUST_PROXY, and then only its last hop (the address that proxy saw).
 * Sockets have no Fastify `req.ip`, so both paths read the peer and the header here, alike.
 */
export function clientIp(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: boolean,
): string {
  const fwd = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  const last = trustProxy ? fwd?.split(',').pop()?.trim() : undefined;
  const ip = last || remoteAddress || 'unknown';
  // One client, one bucket: an IPv4 peer of a dual-stack socket shows up as ::ffff:a.b.c.d.
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}
