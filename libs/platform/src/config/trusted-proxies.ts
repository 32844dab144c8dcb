import { BlockList, isIP } from 'node:net';

/**
 * TRUSTED_PROXIES as Fastify applies it (`trustProxy: [...]`, @fastify/proxy-addr) for code that
 * has no Fastify request: chat-service's sockets. The client address is the socket's remote address
 * unless that is a trusted proxy; then X-Forwarded-For is walked from the right, skipping trusted
 * hops, to the first untrusted entry (the address our outermost proxy saw). trusted-proxies.spec.ts
 * checks it against Fastify's req.ip. One deliberate difference: a hop is an address only in the
 * form node's isIP accepts, so `127.1` or `0x7f000001` is never trusted (no proxy writes those).
 */
export interface TrustedProxies {
  /** The entries as configured (keywords unexpanded); empty when no proxy is trusted. */
  readonly entries: readonly string[];
  /** Whether a connection from this address is one of our proxies. */
  trusts(address: string | undefined): boolean;
}

/** Named ranges, as @fastify/proxy-addr defines them. */
const RANGES: Record<string, string[]> = {
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  loopback: ['127.0.0.1/8', '::1/128'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/**
 * Compiles a TRUSTED_PROXIES value (comma-separated IPs, CIDRs — `/len`, or `/a.b.c.d` masks for
 * IPv4 — and loopback/linklocal/uniquelocal). Throws naming the first entry Fastify would refuse.
 */
export function trustedProxies(value: string | undefined): TrustedProxies {
  const entries = (value ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const entry of entries)
    for (const subnet of RANGES[entry] ?? [entry]) {
      const slash = subnet.lastIndexOf('/');
      const address = slash === -1 ? subnet : subnet.slice(0, slash);
      const family = isIP(address);
      if (family === 0) throw new Error(`${entry}: not an IP address, CIDR or loopback/linklocal/uniquelocal`);
      if (address.includes('%')) throw new Error(`${entry}: zone ids (%…) are not supported`);
      const max = family === 4 ? 32 : 128;
      const text = slash === -1 ? String(max) : subnet.slice(slash + 1);
      const prefix = /^\d+$/.test(text) ? Number(text) : family === 4 && isIP(text) === 4 ? maskLength(text) : NaN;
      if (!(prefix > 0 && prefix <= max))
        throw new Error(`${entry}: the prefix length must be 1–${max} (or, for IPv4, a contiguous netmask)`);
      const mapped = family === 6 ? mappedIPv4(address) : undefined;
      if (mapped === undefined) (family === 4 ? v4 : v6).addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
      // ::ffff:a.b.c.d/n covers IPv4 addresses only (n < 96 covers none: no IPv4 client can match it).
      else if (slash === -1 || prefix >= 96) v4.addSubnet(mapped, slash === -1 ? 32 : prefix - 96, 'ipv4');
    }
  return {
    entries,
    trusts(address) {
      if (typeof address !== 'string' || !entries.length) return false;
      const family = isIP(address);
      if (family === 4) return v4.check(address, 'ipv4');
      if (family !== 6) return false;
      // An IPv4-mapped client (a dual-stack socket's IPv4 peer) is matched as the IPv4 address it is.
      const mapped = mappedIPv4(address.split('%')[0]);
      return mapped === undefined ? v6.check(address, 'ipv6') : v4.check(mapped, 'ipv4');
    },
  };
}

/**
 * The client's address: `remoteAddress` (the TCP peer) unless it is a trusted proxy; then the
 * right-most X-Forwarded-For entry that is not a trusted proxy (or the left-most, if all are).
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: TrustedProxies,
): string | undefined {
  let address = remoteAddress;
  if (!trusted.trusts(address)) return address;
  for (const hop of forwardedHops(forwardedFor)) {
    address = hop;
    if (!trusted.trusts(hop)) break;
  }
  return address;
}

/** X-Forwarded-For entries right to left, split as @fastify/forwarded splits them. */
function forwardedHops(header: string | string[] | undefined): string[] {
  // Node joins repeated X-Forwarded-For headers into one string; an array only comes from a hand-made request.
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (!value) return [];
  if (!value.includes(',')) return value.trim() ? [value.trim()] : [];
  return value
    .split(',')
    .map((hop) => hop.replace(/^[ \t]+|[ \t]+$/g, ''))
    .filter(Boolean)
    .reverse();
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any notation) stands for. */
function mappedIPv4(address: string): string | undefined {
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(new URL(`http://[${address}]`).hostname);
  if (!m) return undefined;
  const [hi, lo] = [parseInt(m[1], 16), parseInt(m[2], 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The prefix length of a contiguous IPv4 netmask such as 255.255.255.0 (NaN otherwise). */
function maskLength(mask: string): number {
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? bits.replace(/0+$/, '').length : NaN;
}
